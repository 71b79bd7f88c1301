package cluster

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/memberlist"
)

// KeySize is the gossip key length: 32 bytes selects AES-256.
const KeySize = 32

// GenerateKey returns a new random gossip key, base64-encoded as `vmnode
// keygen` prints it.
func GenerateKey() (string, error) {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(k), nil
}

// DecodeKey checks a base64 gossip key: 16, 24 or 32 bytes (AES-128/192/256).
func DecodeKey(s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	switch len(k) {
	case 16, 24, 32:
		return k, nil
	}
	return nil, fmt.Errorf("%d bytes: a gossip key has 16, 24 or 32 bytes (make one with `vmnode keygen`)", len(k))
}

// LoadKeyring builds the gossip keyring. The keyring file Serf maintains
// (written on every `vmnode keys` change, primary key first) wins, so a
// rotation survives restarts; without one the key file seeds it.
func LoadKeyring(keyringFile, keyFile string) (*memberlist.Keyring, error) {
	data, err := os.ReadFile(keyringFile)
	switch {
	case err == nil:
		var encoded []string
		if err := json.Unmarshal(data, &encoded); err != nil {
			return nil, fmt.Errorf("keyring %s: %w", keyringFile, err)
		}
		if len(encoded) == 0 {
			return nil, fmt.Errorf("keyring %s: no keys", keyringFile)
		}
		keys := make([][]byte, len(encoded))
		for i, e := range encoded {
			if keys[i], err = DecodeKey(e); err != nil {
				return nil, fmt.Errorf("keyring %s: key %d: %w", keyringFile, i+1, err)
			}
		}
		return memberlist.NewKeyring(keys, keys[0])
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("keyring: %w", err)
	}
	data, err = os.ReadFile(keyFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("gossip encryption key %s does not exist: create it with `vmnode keygen > %s` (the same key on every host), or set agent.encrypt: false to gossip in the clear", keyFile, keyFile)
	}
	if err != nil {
		return nil, fmt.Errorf("gossip key: %w", err)
	}
	key, err := DecodeKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("gossip key %s: %w", keyFile, err)
	}
	if err := os.MkdirAll(filepath.Dir(keyringFile), 0o700); err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	encoded, _ := json.Marshal([]string{base64.StdEncoding.EncodeToString(key)})
	if err := os.WriteFile(keyringFile, encoded, 0o600); err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	return memberlist.NewKeyring(nil, key)
}
