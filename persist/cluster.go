package persist

import (
	"context"
	"errors"
	"time"
)

// Errors of the cluster contract (SPEC §6).
var (
	// ErrLeaseHeld: another owner holds a live (unexpired) lease on the
	// session. AcquireLease returns the holder's Lease with it.
	ErrLeaseHeld = errors.New("lease held by another node")
	// ErrLimit: a store-side cap refused the write (sessions per user).
	ErrLimit = errors.New("limit reached")
)

// Owner names the process that runs a live session (SPEC §6): the node id
// (stable, from the config or the host name) and the boot id drawn at every
// start, so a node restarted after a crash is not the owner it was before.
type Owner struct {
	Node string
	Boot string
}

// IsZero reports whether o names nobody (a released or never-taken lease).
func (o Owner) IsZero() bool { return o.Node == "" && o.Boot == "" }

// String renders o as "node/boot" for logs.
func (o Owner) String() string { return o.Node + "/" + o.Boot }

// Lease is a session's ownership record (SPEC §6). It lives beside the
// session record, so a fenced write checks it in the same transaction.
type Lease struct {
	SessionID string
	Owner     Owner     // zero when nobody holds it
	Epoch     int64     // the fencing token: bumped by every acquire that changes hands
	Expires   time.Time // judged by the store's clock; zero when released
}

// Leases decide which node runs each live session (SPEC §6 "Ownership").
// Expiry is judged by the store's clock (PostgreSQL's now(); SQLite's the
// process clock), never by the caller's, so nodes with skewed clocks agree.
type Leases interface {
	// AcquireLease makes o the owner of session id until the store's now +
	// ttl. It succeeds when nobody holds the lease, when the holder's lease
	// has expired, or when o holds it already (then it is renewed and the
	// epoch stays); otherwise the epoch is bumped, so every write fenced by
	// the previous epoch fails from now on. The session record's Node
	// becomes o.Node. Errors: ErrNotFound (no such session); ErrLeaseHeld
	// wrapped, returned together with the holder's Lease, when another
	// owner's lease is live.
	AcquireLease(ctx context.Context, id string, o Owner, ttl time.Duration) (Lease, error)
	// RenewLeases extends every lease o holds to the store's now + ttl in
	// one statement (whether or not it had expired, as long as nobody took
	// it meanwhile) and returns them. A session o runs that is missing from
	// the answer was taken by another owner or released: o must stop it at
	// once (self-fencing).
	RenewLeases(ctx context.Context, o Owner, ttl time.Duration) ([]Lease, error)
	// ReleaseLease gives up o's lease on id at epoch f.Epoch (hibernate,
	// hand-off, end): the owner is cleared and the next acquire bumps the
	// epoch. ErrLeaseLost when the epoch moved; ErrNotFound.
	ReleaseLease(ctx context.Context, id string, f Fence) error
	// GetLease returns the lease of session id (zero Owner when none);
	// ErrNotFound.
	GetLease(ctx context.Context, id string) (Lease, error)
}

// Node is one `termhost serve` process as the cluster sees it (SPEC §6:
// nodes announce themselves; `termhost nodes list`).
type Node struct {
	ID       string
	Boot     string
	Addr     string    // what it listens on, e.g. "ssh=:2222 telnet=:2323 http=:8080"
	Started  time.Time // when this boot started
	Seen     time.Time // store clock at its last heartbeat
	Draining bool
	// Stopped: the node's last heartbeat said it shut down cleanly (its
	// sessions hibernated or handed off); Seen is when. A later boot of
	// the same ID clears it with its first heartbeat.
	Stopped bool
}

// Nodes records the nodes of a cluster.
type Nodes interface {
	// Heartbeat stores n, keyed by n.ID (a new boot replaces the old one),
	// with Seen set to the store's now; the Seen of n is ignored.
	Heartbeat(ctx context.Context, n Node) error
	// ListNodes returns every node ever announced, by ID.
	ListNodes(ctx context.Context) ([]Node, error)
}

// Request kinds a node acts on (SPEC §6: admin verbs from any node,
// hand-off, drain).
const (
	RequestHandoff = "handoff" // release SessionID to the node named in Detail
	RequestDetach  = "detach"
	RequestKill    = "kill"
	RequestMessage = "message" // Detail is the text
	RequestDrain   = "drain"   // the node itself: hand every session off and exit
)

// Request asks node Node to act on one of its sessions or on itself. A
// request is durable: the target takes it on its next poll even when the
// wake-up (Notifier) was lost.
type Request struct {
	ID        int64
	Node      string // target node id
	Kind      string // one of the Request* constants
	SessionID string // "" for node requests
	Actor     string // who asked (user or admin name, "system")
	Remote    string // their address, for the session's history
	Detail    string
	At        time.Time
}

// Requests queues work for other nodes.
type Requests interface {
	// PostRequest stores r (At and ID are set by the store) and returns it.
	// Callers also Notify the target's channel (NodeChannel) for speed.
	PostRequest(ctx context.Context, r Request) (Request, error)
	// TakeRequests removes and returns node's pending requests, oldest
	// first; each is returned to exactly one caller.
	TakeRequests(ctx context.Context, node string) ([]Request, error)
}

// Notifier carries wake-ups between nodes: PostgreSQL LISTEN/NOTIFY, an
// in-process broadcast for SQLite. A wake-up may be lost (a connection
// drops, nobody listens yet) and there is no replay, so every listener
// also polls what it is woken for (requests, chat since a seq, leases).
type Notifier interface {
	// Notify sends payload (≤ 1,000 bytes) to everyone listening on channel.
	Notify(ctx context.Context, channel, payload string) error
	// Listen delivers channel's payloads until ctx ends, then closes the
	// channel. Payloads that arrive while the reader is slow are dropped
	// beyond a small buffer (they are wake-ups, not data).
	Listen(ctx context.Context, channel string) (<-chan string, error)
}

// Channels of the Notifier. A name is 1–63 printable bytes without '"'
// (what a quoted PostgreSQL identifier carries); NodeChannel embeds node
// ids, which are host names by default.
const (
	ChatChannel     = "termhost.chat"     // payload: the new message's Seq
	SessionsChannel = "termhost.sessions" // payload: "NODE SESSIONID": a session whose listing NODE changed
)

// NodeChannel is the channel node id listens on for requests and hand-off
// answers.
func NodeChannel(id string) string { return "termhost.node." + id }

// Secrets keeps values every node of a cluster must share: SSH host keys
// (SPEC §6), seal keys (SPEC §10).
type Secrets interface {
	// EnsureSecret stores value under name unless a value is already
	// stored, and returns the stored one: the first node to start wins and
	// every other node adopts its value.
	EnsureSecret(ctx context.Context, name string, value []byte) ([]byte, error)
}

// Cluster is what cluster mode needs beyond the single-node contract;
// every backend implements it (SQLite for a single node).
type Cluster interface {
	Leases
	Nodes
	Requests
	Notifier
	Secrets
}
