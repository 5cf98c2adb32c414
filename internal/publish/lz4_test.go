package publish

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go/compress"
)

// TestLZ4Frames checks the frames the installed lz4 codec writes: 64 KiB
// blocks, no content checksum, and the same bytes back through the
// codec's reader, for fresh and pooled writers alike.
func TestLZ4Frames(t *testing.T) {
	codec := compress.Codecs[compress.Lz4]
	if _, ok := codec.(*lz4Codec); !ok {
		t.Fatalf("kafka-go's lz4 codec is %T, not ours", codec)
	}
	tests := []struct {
		name string
		data string
	}{
		{"empty", ""},
		{"short", `{"id":"a","text":"#OTAN #Drones"}`},
		{"several blocks", strings.Repeat(`{"id":"rss:1","text":"Réarmement et #OTAN, hashtag#Drones 日本語"}`, 5000)},
		{"again, from the pool", strings.Repeat("x", 200000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := codec.NewWriter(&buf)
			if _, err := io.WriteString(w, tt.data); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			frame := buf.Bytes()
			if len(frame) < 6 || !bytes.Equal(frame[:4], []byte{0x04, 0x22, 0x4d, 0x18}) {
				t.Fatalf("not an LZ4 frame: % x", frame[:min(6, len(frame))])
			}
			if flg := frame[4]; flg&0x04 != 0 {
				t.Errorf("FLG %08b: content checksum on", flg)
			}
			if bd := frame[5]; bd>>4&0x7 != 4 {
				t.Errorf("BD %08b: block size id %d, want 4 (64 KiB)", bd, bd>>4&0x7)
			}
			r := codec.NewReader(bytes.NewReader(frame))
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil || string(got) != tt.data {
				t.Fatalf("read back %d bytes (%v), want %d", len(got), err, len(tt.data))
			}
		})
	}
}
