package abuse

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// The loopback addresses the attacks and the bystander use. All of
// 127.0.0.0/8 reaches the loopback interface on Linux, so per-source rules
// see them as different hosts.
const (
	LegitSource  = "127.0.0.9"   // the legitimate user
	AttackSource = "127.0.0.2"   // the attacker's one address
	TrustedProxy = "127.0.0.250" // the load balancer a PROXY test trusts
)

// SpreadSources returns n attacker addresses 127.0.0.10, 127.0.0.11, …
// (n ≤ 200).
func SpreadSources(n int) []string {
	out := make([]string, 0, n)
	for i := range min(n, 200) {
		out = append(out, fmt.Sprintf("127.0.0.%d", 10+i))
	}
	return out
}

// Account is a user of the server under attack.
type Account struct {
	Name     string
	Password string // "" for key-only accounts
	Signer   gossh.Signer
}

// NewAccount makes an account with a fresh ed25519 key.
func NewAccount(name, password string) (Account, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Account{}, err
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		return Account{}, err
	}
	return Account{Name: name, Password: password, Signer: s}, nil
}

// AuthorizedKey is the account's public key in authorized_keys form.
func (a Account) AuthorizedKey() string {
	return strings.TrimSpace(string(gossh.MarshalAuthorizedKey(a.Signer.PublicKey())))
}

// AddUsers creates the accounts with `termhost user add` on the data dir
// of a server (running or not), four at a time: the store takes
// concurrent writers (SQLite WAL with a busy timeout) and each add spends
// most of its time on its own argon2 hash.
func AddUsers(ctx context.Context, bin, dataDir string, accounts ...Account) error {
	errs := make([]error, len(accounts))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, a := range accounts {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			args := []string{"user", "add", a.Name, "--key", a.AuthorizedKey(), "--data-dir", dataDir}
			if a.Password != "" {
				args = append(args, "--password-stdin")
			}
			cmd := exec.CommandContext(ctx, bin, args...)
			cmd.Stdin = strings.NewReader(a.Password + "\n")
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("user add %s: %w: %s", a.Name, err, out)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Target is a running termhost under attack and the accounts the attacks
// use.
type Target struct {
	SSH    string // SSH listener, host:port; "" when off
	Telnet string // telnet listener; "" when off
	PID    int    // the server process, for memory and CPU

	Legit     Account   // the bystander: a key for SSH, a password for telnet
	Victim    Account   // the account guessed at (its real password is never tried)
	Attackers []Account // key accounts the attacker holds (HugeWindow uses up to 4)

	// LegitVia, when set, is a trusted load balancer's address: the
	// bystander then connects from it with a PROXY v1 header claiming
	// LegitClaim, as every user does when proxy_protocol is on.
	LegitVia   string
	LegitClaim netip.AddrPort

	// Sessions returns `termhost sessions list --json` (the PROXY attack
	// reads the address the server saw).
	Sessions func(ctx context.Context) ([]byte, error)
}

// Outcome is what every attack measures besides its own figures: the
// bystander's first frames and the server's memory and CPU meanwhile.
type Outcome struct {
	Legit Probes
	Usage Usage
}

// probeEvery is the pause between the bystander's logins.
const probeEvery = 300 * time.Millisecond

// bystanders are the legitimate user's logins: SSH always, telnet too when
// the attack is on telnet (each only when the listener and the credential
// exist).
func (t Target) bystanders(telnet bool) []Prober {
	source, header := LegitSource, func(string) []byte { return nil }
	if t.LegitVia != "" {
		source = t.LegitVia
		header = func(addr string) []byte {
			dst, _ := netip.ParseAddrPort(addr)
			return ProxyV1(t.LegitClaim, dst)
		}
	}
	var ps []Prober
	if t.SSH != "" && t.Legit.Signer != nil {
		ps = append(ps, SSHUser(SSH{Addr: t.SSH, Source: source, Header: header(t.SSH)}, t.Legit.Name, t.Legit.Signer))
	}
	if telnet && t.Telnet != "" && t.Legit.Password != "" {
		ps = append(ps, TelnetUser(t.Telnet, source, header(t.Telnet), t.Legit.Name, t.Legit.Password))
	}
	return ps
}

// observe runs setup and then attack while the meter watches; the
// bystanders log in from the end of setup (the attack in place: a flood's
// burst open, the huge clients attached) to the end of attack.
func (t Target) observe(ctx context.Context, telnet bool, setup, attack func(ctx context.Context) error) (Outcome, error) {
	m, err := StartMeter(t.PID)
	if err != nil {
		return Outcome{}, err
	}
	if setup != nil {
		if err := setup(ctx); err != nil {
			return Outcome{Usage: m.Stop()}, err
		}
	}
	stop := Watch(ctx, probeEvery, t.bystanders(telnet)...)
	err = attack(ctx)
	legit := stop()
	return Outcome{Legit: legit, Usage: m.Stop()}, err
}

// listedClient is the part of `sessions list --json` the PROXY attack reads.
type listedClient struct {
	User    string `json:"user"`
	Clients []struct {
		Transport  string `json:"transport"`
		RemoteAddr string `json:"remote_addr"`
	} `json:"clients"`
}

// seenAs returns the remote address the server lists for user's client.
func (t Target) seenAs(ctx context.Context, user string) (string, error) {
	if t.Sessions == nil {
		return "", fmt.Errorf("no Sessions func to list sessions with")
	}
	out, err := t.Sessions(ctx)
	if err != nil {
		return "", err
	}
	var list []listedClient
	if err := json.Unmarshal(out, &list); err != nil {
		return "", fmt.Errorf("sessions list --json: %w", err)
	}
	for _, s := range list {
		if s.User == user && len(s.Clients) > 0 {
			return s.Clients[0].RemoteAddr, nil
		}
	}
	return "", fmt.Errorf("no attached session of %s in the listing", user)
}
