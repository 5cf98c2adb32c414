package alert

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tagpulse/internal/trend"

	"tagpulse/internal/retry"
)

var testFiring = Firing{
	Rule: "spikes", Metric: MetricScore, Threshold: 8, Window: time.Hour,
	At:  time.Date(2025, 11, 20, 14, 37, 30, 0, time.UTC),
	Tag: "réarmement", Display: "Réarmement", Count: 40, Accounts: 31, HasScore: true, By: trend.ByAccounts, Expected: 1, Score: 39,
}

func TestBody(t *testing.T) {
	for _, tc := range []struct {
		name   string
		f      Firing
		format Format
		base   string
		want   string
	}{
		{"slack with score", testFiring, FormatSlack, "https://trends.example.org",
			`{"text":"#Réarmement: 40 posts from 31 accounts in the last 1h, 1.0 accounts expected, trending score 39.0 (rule spikes: score ≥ 8) https://trends.example.org/tags/r%C3%A9armement"}`},
		{"slack count without base", Firing{Rule: "watch", Metric: MetricCount, Threshold: 10, Window: 24 * time.Hour, Tag: "nato", Count: 12, Accounts: 9}, FormatSlack, "",
			`{"text":"#nato: 12 posts from 9 accounts in the last 1d (rule watch: count ≥ 10)"}`},
		{"json with score", testFiring, FormatJSON, "https://trends.example.org",
			`{"rule":"spikes","tag":"réarmement","display":"Réarmement","window":"1h","at":"2025-11-20T14:37:30Z","metric":"score","threshold":8,"count":40,"accounts":31,"by":"accounts","expected":1,"score":39,"link":"https://trends.example.org/tags/r%C3%A9armement","top_account_share":0,"top_instance_share":0,"concentrated":false,"bot_posts":0}`},
		{"json count", Firing{Rule: "watch", Metric: MetricCount, Threshold: 10, Window: time.Hour, At: testFiring.At, Tag: "nato", Display: "NATO", Count: 12, Accounts: 9}, FormatJSON, "http://h",
			`{"rule":"watch","tag":"nato","display":"NATO","window":"1h","at":"2025-11-20T14:37:30Z","metric":"count","threshold":10,"count":12,"accounts":9,"link":"http://h/tags/nato","top_account_share":0,"top_instance_share":0,"concentrated":false,"bot_posts":0}`},
		{"slack count, concentrated", Firing{Rule: "watch", Metric: MetricCount, Threshold: 10, Window: time.Hour, Tag: "flood", Count: 30, Accounts: 1,
			Concentration: trend.Concentration{TopAccountShare: 1, TopInstanceShare: 1, Concentrated: true}}, FormatSlack, "",
			`{"text":"#flood: 30 posts from 1 accounts in the last 1h; concentrated: 100% of the posts from one account, 100% from one instance (rule watch: count ≥ 10)"}`},
		{"json count, concentrated", Firing{Rule: "watch", Metric: MetricCount, Threshold: 10, Window: time.Hour, At: testFiring.At, Tag: "flood", Display: "Flood", Count: 30, Accounts: 1,
			Concentration: trend.Concentration{TopAccountShare: 1, TopInstanceShare: 0.5, Concentrated: true, BotPosts: 3}}, FormatJSON, "http://h",
			`{"rule":"watch","tag":"flood","display":"Flood","window":"1h","at":"2025-11-20T14:37:30Z","metric":"count","threshold":10,"count":30,"accounts":1,"link":"http://h/tags/flood","top_account_share":1,"top_instance_share":0.5,"concentrated":true,"bot_posts":3}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Body(tc.f, tc.format, tc.base)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("body\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// fastNotifier is a Notifier whose retries wait milliseconds.
func fastNotifier() *Notifier {
	n := NewNotifier("https://trends.example.org")
	n.Backoff = retry.Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond}
	n.AttemptTimeout = 2 * time.Second
	n.SendTimeout = 5 * time.Second
	return n
}

func TestSend(t *testing.T) {
	for _, tc := range []struct {
		name     string
		statuses []int // answered in turn, the last one repeated
		attempts int64
		fails    string // "" when the send must succeed
	}{
		{"accepted", []int{200}, 1, ""},
		{"retried after 500", []int{500, 503, 204}, 3, ""},
		{"retried after 429", []int{429, 200}, 2, ""},
		{"refused at once", []int{400}, 1, "400 Bad Request"},
		{"redirect is not followed", []int{302}, 1, "302 Found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int64
			var body atomic.Value
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				i := int(n.Add(1)) - 1
				b, _ := io.ReadAll(r.Body)
				body.Store(string(b))
				if r.Header.Get("Content-Type") != "application/json" {
					t.Errorf("Content-Type = %q", r.Header.Get("Content-Type"))
				}
				w.Header().Set("Location", "/elsewhere")
				w.WriteHeader(tc.statuses[min(i, len(tc.statuses)-1)])
				_, _ = io.WriteString(w, strings.Repeat("x", 3*maxResponseBytes))
			}))
			defer srv.Close()
			hook := Webhook{Name: "test", URL: srv.URL + "/services/secret-token", Format: FormatJSON}
			err := fastNotifier().Send(context.Background(), hook, testFiring)
			if got := n.Load(); got != tc.attempts {
				t.Errorf("%d attempts, want %d", got, tc.attempts)
			}
			if tc.fails == "" {
				if err != nil {
					t.Fatal(err)
				}
				var p Payload
				if err := json.Unmarshal([]byte(body.Load().(string)), &p); err != nil || p.Tag != testFiring.Tag {
					t.Errorf("received %v (%v), want the JSON payload of %s", body.Load(), err, testFiring.Tag)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.fails) || !errors.Is(err, errPermanent) {
				t.Errorf("err = %v, want a permanent error saying %q", err, tc.fails)
			}
			if err != nil && strings.Contains(err.Error(), "secret-token") {
				t.Errorf("error %q quotes the webhook URL", err)
			}
			if err != nil && len(err.Error()) > 2*maxResponseBytes {
				t.Errorf("error of %d bytes: the response was not bounded", len(err.Error()))
			}
		})
	}
}

// TestSendGivesUp: a receiver that never answers well is given up on
// within SendTimeout, and the error names no secret.
func TestSendGivesUp(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	nf := fastNotifier()
	nf.AttemptTimeout = 100 * time.Millisecond
	nf.SendTimeout = time.Second
	start := time.Now()
	err := nf.Send(context.Background(), Webhook{Name: "slow", URL: srv.URL + "/secret-token", Format: FormatSlack}, testFiring)
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %s, want about the send timeout of 1s", took)
	}
	if err == nil || strings.Contains(err.Error(), "secret-token") {
		t.Errorf("err = %v, want an error without the URL's path", err)
	}
}
