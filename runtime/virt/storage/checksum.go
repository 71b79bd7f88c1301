package storage

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

var sha256RE = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

// sidecarSHA256 reads FILE.sha256 next to file, if there is one. It
// accepts sha256sum's format ("HASH  NAME", "HASH *NAME"), BSD's
// ("SHA256 (NAME) = HASH") and a bare hash; with names, a line for file's
// base name must be there. found is false when there is no sidecar.
func sidecarSHA256(file string) (sum, sidecar string, found bool, err error) {
	sidecar = file + ".sha256"
	f, err := os.Open(sidecar)
	if errors.Is(err, fs.ErrNotExist) {
		return "", sidecar, false, nil
	}
	if err != nil {
		return "", sidecar, false, err
	}
	defer f.Close()
	base := filepath.Base(file)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		var hash, name string
		if rest, ok := strings.CutPrefix(line, "SHA256 ("); ok {
			name, hash, _ = strings.Cut(rest, ") = ")
		} else {
			hash, name, _ = strings.Cut(line, " ")
			name = strings.TrimPrefix(strings.TrimSpace(name), "*")
			name = strings.TrimPrefix(name, "./")
		}
		if !sha256RE.MatchString(hash) {
			continue
		}
		if name == "" || name == base {
			return strings.ToLower(hash), sidecar, true, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", sidecar, true, err
	}
	return "", sidecar, true, fmt.Errorf("%s has no SHA-256 checksum for %s", sidecar, base)
}

// copyHashing copies src to dst, returning the SHA-256 of what it copied.
// It reports progress and stops when ctx is done.
func copyHashing(ctx context.Context, dst io.Writer, src io.Reader, total int64, progress func(done, total int64)) (string, int64, error) {
	h := sha256.New()
	w := &progressWriter{ctx: ctx, w: io.MultiWriter(dst, h), total: total, progress: progress}
	n, err := io.CopyBuffer(w, src, make([]byte, 1<<20))
	if err != nil {
		return "", n, err
	}
	if progress != nil {
		progress(n, total)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

type progressWriter struct {
	ctx      context.Context
	w        io.Writer
	done     int64
	total    int64
	progress func(done, total int64)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	if err := p.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := p.w.Write(b)
	p.done += int64(n)
	if p.progress != nil && err == nil {
		p.progress(p.done, p.total)
	}
	return n, err
}
