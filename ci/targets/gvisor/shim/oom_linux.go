// podcheck (ci/targets/gvisor): build-time replacement (go build -overlay) for containerd/v2's
// pkg/sys/oom_linux.go inside the gVisor shim. Same API; the difference: a score the
// caller may not set (lowering it needs CAP_SYS_RESOURCE, which these VMs lack) keeps the
// current score instead of failing, like containerd's restrict_oom_score_adj. The gVisor
// shim asks for -999 on itself at every start and otherwise cannot start at all here.
package sys

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

const (
	OOMScoreAdjMin = -1000
	OOMScoreAdjMax = 1000
)

func AdjustOOMScore(pid, score int) error {
	return SetOOMScore(pid, min(max(score, OOMScoreAdjMin), OOMScoreAdjMax))
}

func SetOOMScore(pid, score int) error {
	if score < OOMScoreAdjMin || score > OOMScoreAdjMax {
		return fmt.Errorf("value out of range (%d): OOM score must be between %d and %d", score, OOMScoreAdjMin, OOMScoreAdjMax)
	}
	err := os.WriteFile(fmt.Sprintf("/proc/%d/oom_score_adj", pid), []byte(strconv.Itoa(score)), 0)
	if errors.Is(err, os.ErrPermission) {
		if cur, gerr := GetOOMScoreAdj(pid); gerr == nil && score < cur {
			return nil // cannot lower without CAP_SYS_RESOURCE: keep the current score
		}
	}
	return err
}

func GetOOMScoreAdj(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/oom_score_adj", pid))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}
