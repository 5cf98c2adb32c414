package source

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// StateStore keeps one JSON cursor file per source in a directory. Files are
// replaced atomically (written to a temporary file, synced, renamed), so a
// crash leaves either the old cursor or the new one, never half of each.
type StateStore struct {
	dir string
}

// OpenState creates dir when it is missing and returns a store over it.
func OpenState(dir string) (*StateStore, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating state directory: %w", err)
	}
	return &StateStore{dir: dir}, nil
}

// Dir returns the directory of the store.
func (s *StateStore) Dir() string { return s.dir }

// StateKey names the cursor of a source by its kind and location, so
// reordering --source flags keeps each source's cursor.
func StateKey(kind, location string) string {
	sum := sha256.Sum256([]byte(location))
	return kind + "-" + hex.EncodeToString(sum[:8])
}

func (s *StateStore) path(key string) string { return filepath.Join(s.dir, key+".json") }

// Load reads the cursor saved under key into v. It reports false, and leaves
// v alone, when there is none.
func (s *StateStore) Load(key string, v any) (bool, error) {
	b, err := os.ReadFile(s.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading cursor %s: %w", key, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("decoding cursor %s: %w", s.path(key), err)
	}
	return true, nil
}

// Save replaces the cursor saved under key with v.
func (s *StateStore) Save(key string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding cursor %s: %w", key, err)
	}
	tmp, err := os.CreateTemp(s.dir, "."+key+".*.tmp")
	if err != nil {
		return fmt.Errorf("saving cursor %s: %w", key, err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("saving cursor %s: %w", key, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("saving cursor %s: %w", key, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving cursor %s: %w", key, err)
	}
	if err := os.Rename(tmp.Name(), s.path(key)); err != nil {
		return fmt.Errorf("saving cursor %s: %w", key, err)
	}
	// Sync the directory so the rename itself survives a power loss.
	if d, err := os.Open(s.dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// cursor binds a source's cursor value to its key in a store; with no
// store it only lives in memory.
type cursor[T any] struct {
	store *StateStore
	key   string
	value T
}

func loadCursor[T any](store *StateStore, key string) (*cursor[T], error) {
	c := &cursor[T]{store: store, key: key}
	if store == nil {
		return c, nil
	}
	if _, err := store.Load(key, &c.value); err != nil {
		return nil, &FetchError{Reason: ReasonState, Err: err}
	}
	return c, nil
}

// commit returns a function that saves next and makes it the current value.
func (c *cursor[T]) commit(next T) func() error {
	return func() error {
		if c.store != nil {
			if err := c.store.Save(c.key, next); err != nil {
				return &FetchError{Reason: ReasonState, Err: err}
			}
		}
		c.value = next
		return nil
	}
}
