package deploy

import (
	"bufio"
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// need returns the path of tool, or skips with a message when it is not
// installed; under TERMHOST_E2E=1 (CI) a missing tool is a failure.
func need(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("TERMHOST_E2E") == "1" {
			t.Fatalf("TERMHOST_E2E=1 but %s is not installed: %v", tool, err)
		}
		t.Skipf("%s is not installed; skipping (install it, or set TERMHOST_E2E=1 to make this a failure)", tool)
	}
	return p
}

func runTool(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// directives reads a unit or Containerfile into lines of "Key=value" /
// "INSTRUCTION args", skipping comments and blank lines.
func directives(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	return out
}

func has(lines []string, want string) bool {
	for _, l := range lines {
		if l == want || strings.HasPrefix(l, want) {
			return true
		}
	}
	return false
}

// The unit has what the issue asks of it, whether or not systemd is here.
func TestUnitDirectives(t *testing.T) {
	lines := directives(t, "termhost.service")
	tests := []struct {
		name string
		want string
	}{
		{name: "dedicated user", want: "User=termhost"},
		{name: "state directory", want: "StateDirectory=termhost"},
		{name: "data dir is the state directory", want: "Environment=TERMHOST_DATA_DIR=/var/lib/termhost"},
		{name: "no new privileges", want: "NoNewPrivileges=yes"},
		{name: "read-only system", want: "ProtectSystem=strict"},
		{name: "no home access", want: "ProtectHome=yes"},
		{name: "private tmp", want: "PrivateTmp=yes"},
		{name: "no capabilities", want: "CapabilityBoundingSet="},
		{name: "address families", want: "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX"},
		{name: "syscall filter", want: "SystemCallFilter=@system-service"},
		{name: "graceful stop signal", want: "KillSignal=SIGTERM"},
		{name: "stop waits past the 30 s flush", want: "TimeoutStopSec=45s"},
		{name: "metrics on loopback", want: "Environment=TERMHOST_METRICS_ADDR=127.0.0.1:9222"},
		{name: "starts serve", want: "ExecStart=/usr/local/bin/termhost serve"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !has(lines, tt.want) {
				t.Errorf("termhost.service lacks %q", tt.want)
			}
		})
	}
	// termhost has no configuration reload: an ExecReload would lie.
	if has(lines, "ExecReload=") {
		t.Error("termhost.service has ExecReload, but termhost does not reload its configuration")
	}
}

// systemd-analyze verify accepts the unit. ExecStart must name an
// executable that exists, so the check runs on a copy that points at this
// test binary instead of /usr/local/bin/termhost.
func TestUnitVerifies(t *testing.T) {
	tool := need(t, "systemd-analyze")
	data, err := os.ReadFile("termhost.service")
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	unit := strings.ReplaceAll(string(data), "/usr/local/bin/termhost", self)
	dir := t.TempDir()
	path := filepath.Join(dir, "termhost.service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out := runTool(t, dir, tool, "verify", path)
	if strings.Contains(out, "termhost.service:") {
		t.Errorf("systemd-analyze verify warns about the unit:\n%s", out)
	}
}

// haproxy -c accepts the configuration, and the configuration does what
// SPEC §6/§11 ask: TCP mode, PROXY v2 to every server, checks on /readyz.
func TestHAProxyConfig(t *testing.T) {
	lines := directives(t, "haproxy.cfg")
	for _, want := range []string{"mode tcp", "option httpchk", "http-check send meth GET uri /readyz",
		"http-check expect status 200", "default-server send-proxy-v2 check port 9222"} {
		if !has(lines, want) {
			t.Errorf("haproxy.cfg lacks %q", want)
		}
	}
	servers := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "server ") {
			servers++
		}
	}
	if servers < 2 {
		t.Errorf("haproxy.cfg has %d server lines, want a node pair per backend", servers)
	}
	tool := need(t, "haproxy")
	if out := runTool(t, ".", tool, "-c", "-f", "haproxy.cfg"); !strings.Contains(out, "valid") {
		t.Errorf("haproxy -c: %s", out)
	}
}

// stage is one FROM … block of a Containerfile.
type stage struct {
	from  string
	lines []string
}

func stages(lines []string) []stage {
	var out []stage
	for _, l := range lines {
		if strings.HasPrefix(strings.ToUpper(l), "FROM ") {
			out = append(out, stage{from: l})
			continue
		}
		if len(out) > 0 {
			out[len(out)-1].lines = append(out[len(out)-1].lines, l)
		}
	}
	return out
}

// The container recipe is multi-stage, builds a static binary, runs as a
// non-root user and keeps the data directory on a volume. hadolint lints it
// where installed.
func TestContainerfile(t *testing.T) {
	st := stages(directives(t, "Containerfile"))
	if len(st) < 2 {
		t.Fatalf("Containerfile has %d stage(s), want a build stage and a runtime stage", len(st))
	}
	build, final := st[0], st[len(st)-1]
	tests := []struct {
		name string
		ok   bool
	}{
		{name: "build stage is named", ok: strings.Contains(build.from, " AS ")},
		{name: "static binary (CGO off)", ok: has(build.lines, "RUN CGO_ENABLED=0 go build")},
		{name: "runtime copies from the build stage", ok: has(final.lines, "COPY --from=build /out/termhost")},
		{name: "runtime is not root", ok: has(final.lines, "USER ") && !has(final.lines, "USER root") && !has(final.lines, "USER 0")},
		{name: "data dir is a volume", ok: has(final.lines, "VOLUME /data")},
		{name: "data dir is the volume", ok: has(final.lines, "ENV TERMHOST_DATA_DIR=/data")},
		{name: "serves by default", ok: has(final.lines, `CMD ["serve"]`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.ok {
				t.Errorf("Containerfile: %s: not so", tt.name)
			}
		})
	}
	if tool, err := exec.LookPath("hadolint"); err == nil {
		runTool(t, ".", tool, "Containerfile")
	} else {
		t.Log("hadolint is not installed; the Containerfile was checked statically only")
	}
}

// The build line of the Containerfile makes a static binary: built here
// with CGO off, it has no ELF interpreter (no libc needed on scratch).
// No container engine is needed; `docker build` itself cannot run here.
// A CGO-off build recompiles every package once (minutes on two busy
// cores), so it runs in CI (TERMHOST_E2E=1) and is skipped elsewhere.
func TestContainerBuildIsStatic(t *testing.T) {
	if os.Getenv("TERMHOST_E2E") != "1" || testing.Short() {
		t.Skip("a CGO_ENABLED=0 build takes minutes without a warm cache; set TERMHOST_E2E=1 to run it")
	}
	goTool := need(t, "go")
	out := filepath.Join(t.TempDir(), "termhost")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", out, "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, b)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("the binary has an ELF interpreter: it is dynamically linked and would not run on scratch")
		}
	}
}

// section returns the directive lines of the haproxy.cfg section headed
// head ("backend termhost_web"), up to the next section.
func section(lines []string, head string) []string {
	var out []string
	in := false
	for _, l := range lines {
		first, _, _ := strings.Cut(l, " ")
		switch first {
		case "global", "defaults", "frontend", "backend", "listen":
			in = l == head
			continue
		}
		if in {
			out = append(out, l)
		}
	}
	return out
}

// The deploy files serve the web transport too (SPEC §9: http_addr :8080),
// drain long enough for HAProxy's checks to notice (drain_delay ≥ inter ×
// fall), and name no command that does not exist.
func TestWebAndDrain(t *testing.T) {
	cfg := directives(t, "haproxy.cfg")
	web := section(cfg, "backend termhost_web")
	unit := directives(t, "termhost.service")
	container := directives(t, "Containerfile")

	// inter and fall of the SSH backend's checks, and the drain delays.
	var inter time.Duration
	var fall int
	for _, l := range section(cfg, "backend termhost_ssh") {
		f := strings.Fields(l)
		for i := 0; i+1 < len(f); i++ {
			switch f[i] {
			case "inter":
				inter, _ = time.ParseDuration(f[i+1])
			case "fall":
				fall, _ = strconv.Atoi(f[i+1])
			}
		}
	}
	delay := func(lines []string, prefix string) time.Duration {
		for _, l := range lines {
			for _, f := range strings.Fields(l) {
				if v, ok := strings.CutPrefix(f, prefix); ok {
					d, _ := time.ParseDuration(strings.TrimSuffix(v, "\\"))
					return d
				}
			}
		}
		return 0
	}
	check := inter * time.Duration(fall)
	raw := ""
	for _, f := range []string{"haproxy.cfg", "termhost.service", "Containerfile"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		raw += string(b)
	}
	tests := []struct {
		name string
		ok   bool
	}{
		{name: "haproxy has a web frontend", ok: len(section(cfg, "frontend web")) > 0},
		{name: "web backend sends to the nodes' :8080", ok: has(web, "server node1 192.0.2.11:8080")},
		{name: "web backend checks /readyz", ok: has(web, "http-check send meth GET uri /readyz") && has(web, "default-server send-proxy-v2 check port 9222")},
		{name: "web backend sends PROXY v2, as ssh and telnet do (the web listener reads it)", ok: strings.Contains(strings.Join(web, "\n"), "send-proxy-v2")},
		{name: "ssh checks parsed", ok: check > 0},
		{name: "unit drain_delay covers inter × fall", ok: delay(unit, "Environment=TERMHOST_DRAIN_DELAY=") > check},
		{name: "container drain_delay covers inter × fall", ok: delay(container, "TERMHOST_DRAIN_DELAY=") > check},
		{name: "container exposes the web port", ok: has(container, "EXPOSE ") && slices.Contains(strings.Fields(strings.Join(container, " ")), "8080")},
		{name: "unit says HTTP is plaintext without a certificate", ok: strings.Contains(raw, "TERMHOST_TLS_CERT")},
		{name: "no `termhost nodes drain` command (cluster mode is not built)", ok: !strings.Contains(raw, "nodes drain")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.ok {
				t.Errorf("deploy files: %s: not so (inter %v × fall %d)", tt.name, inter, fall)
			}
		})
	}
}
