// Package memlimit gives the Go runtime a soft memory limit from the
// container's memory limit, so that a contactsd near its limit collects
// garbage harder instead of being killed, with no setting to get right.
//
// The limit is read from the cgroup file system: memory.max (cgroup v2)
// or memory/memory.limit_in_bytes (cgroup v1). An explicit GOMEMLIMIT
// always wins: the runtime has read it at start, and Configure leaves it.
package memlimit

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// CgroupRoot is where the cgroup file system is mounted; inside a container
// it shows the container's own cgroup.
const CgroupRoot = "/sys/fs/cgroup"

// Percent is the share of the container's limit given to the runtime: the
// rest is headroom for what the soft limit does not bound (memory not yet
// returned to the kernel, non-Go memory) and for bursts.
const Percent = 90

// unlimitedV1 is the smallest value cgroup v1 reports for "no limit" (a
// page-rounded 2^63-1); cgroup v2 writes "max".
const unlimitedV1 = 1 << 62

// Setting is what Configure did.
type Setting struct {
	// Source is "GOMEMLIMIT" (set in the environment, left as it is), the
	// cgroup file the limit came from, or "" when there is no limit.
	Source string
	// Container is the container's limit in bytes (0: none or unknown).
	Container int64
	// Soft is the runtime's soft memory limit in bytes after Configure
	// (math.MaxInt64: none).
	Soft int64
}

// Configure sets the runtime's soft memory limit to Percent of the
// container's limit found under root (normally CgroupRoot), unless
// GOMEMLIMIT is set, and logs what it did. A cgroup file that cannot be
// read or parsed is logged and otherwise ignored: contactsd runs without
// a soft limit rather than not at all.
func Configure(root string, lookupEnv func(string) (string, bool), log *slog.Logger) Setting {
	if v, ok := lookupEnv("GOMEMLIMIT"); ok && v != "" {
		s := Setting{Source: "GOMEMLIMIT", Soft: debug.SetMemoryLimit(-1)}
		log.Info("soft memory limit from GOMEMLIMIT", "soft_limit_bytes", s.Soft)
		return s
	}
	limit, file, err := ContainerLimit(root)
	switch {
	case err != nil:
		log.Warn("no soft memory limit: cannot read the container's memory limit", "err", err)
		return Setting{Soft: debug.SetMemoryLimit(-1)}
	case limit == 0:
		log.Info("no soft memory limit: the container has no memory limit (set GOMEMLIMIT to give one)")
		return Setting{Soft: debug.SetMemoryLimit(-1)}
	}
	soft := limit / 100 * Percent
	debug.SetMemoryLimit(soft)
	log.Info("soft memory limit from the container's limit", "soft_limit_bytes", soft,
		"container_limit_bytes", limit, "cgroup_file", file, "percent", Percent)
	return Setting{Source: file, Container: limit, Soft: soft}
}

// ContainerLimit returns the memory limit in bytes of the cgroup mounted at
// root and the file it read, trying cgroup v2 then v1. It returns 0 and no
// error when neither file exists or the limit is "max" (unlimited).
func ContainerLimit(root string) (int64, string, error) {
	for _, f := range []string{"memory.max", filepath.Join("memory", "memory.limit_in_bytes")} {
		path := filepath.Join(root, f)
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, path, err
		}
		v := strings.TrimSpace(string(b))
		if v == "max" {
			return 0, path, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return 0, path, fmt.Errorf("%s: %q is not a number of bytes", path, v)
		}
		if n >= unlimitedV1 {
			return 0, path, nil
		}
		return n, path, nil
	}
	return 0, "", nil
}
