package topic

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"
)

// File is the shape of a topics file that `aggregate topics load` reads,
// so the topics can live in version control:
//
//	topics:
//	  nato: [nato, otan, navo]
//	  eu:
//	    - eu
//	    - ue
//
// Loading it makes the stored topics equal the file: a topic or a tag the
// file does not name is removed.
type File struct {
	Topics map[string][]string `yaml:"topics"`
}

// Parse reads a topics file and returns its topics with canonical tags;
// unknown keys, a topic with no tags and an invalid name or tag are errors
// matching ErrInvalid.
func Parse(data []byte) (map[string][]string, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: parsing YAML: %w", ErrInvalid, err)
	}
	return canonicalDefs(f.Topics)
}

// ParseFile reads the topics file at path (Parse).
func ParseFile(path string) (map[string][]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading topics file: %w", err)
	}
	defs, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("topics file %s: %w", path, err)
	}
	return defs, nil
}
