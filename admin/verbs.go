package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Verb is one admin verb (SPEC §3 "sessions list|show|detach|kill|message|
// stats"), declared once: the admin socket and `ssh host sessions ...`
// (Runner.Run) parse their command lines through run, and the web API
// (Runner.Act, POST /api/sessions/{id}/{verb}) calls the same act. Usage
// texts come from this table.
type Verb struct {
	Name    string
	Aliases []string
	// Usage is the usage line, "sessions VERB ARGS".
	Usage string
	// Text is set for verbs whose arguments after the session are free
	// text, never flags (message).
	Text bool
	// run parses the verb's arguments (after the verb) and carries it out.
	run func(r *Runner, ctx context.Context, actor string, args []string, w io.Writer) error
	// act carries out a verb on one session ref (a name, id or id prefix)
	// with text (message); nil for verbs that do not act on one session.
	act func(r *Runner, ctx context.Context, actor, ref, text string, w io.Writer) error
}

// Verbs is every admin verb, in the order usage lists them. It is filled
// in init because the handlers print usage texts generated from it.
var Verbs []Verb

func init() {
	Verbs = []Verb{
		{Name: "list", Aliases: []string{"ls"}, Usage: "sessions list [--json] [--user U] [--state attached|detached|hibernated|ended]", run: (*Runner).list},
		{Name: "show", Usage: "sessions show ID|NAME [--json]", run: (*Runner).show},
		{Name: "detach", Usage: "sessions detach ID|NAME", run: oneSession("detach"), act: (*Runner).detach},
		{Name: "kill", Usage: "sessions kill ID|NAME", run: oneSession("kill"), act: (*Runner).kill},
		{Name: "message", Aliases: []string{"msg"}, Usage: "sessions message ID|NAME|--all TEXT", Text: true, run: (*Runner).messageArgs, act: (*Runner).message},
		{Name: "stats", Usage: "sessions stats [--json]", run: (*Runner).stats},
	}
}

// Lookup finds a verb by name or alias.
func Lookup(name string) (Verb, bool) {
	for _, v := range Verbs {
		if v.Name == name || slices.Contains(v.Aliases, name) {
			return v, true
		}
	}
	return Verb{}, false
}

// Names lists the verbs' names in table order.
func Names() []string {
	var names []string
	for _, v := range Verbs {
		names = append(names, v.Name)
	}
	return names
}

// SessionVerbs lists the verbs that act on one session (detach, kill,
// message): the web API's POST /api/sessions/{id}/{verb} and the /admin
// page's buttons.
func SessionVerbs() []string {
	var names []string
	for _, v := range Verbs {
		if v.act != nil {
			names = append(names, v.Name)
		}
	}
	return names
}

// Errors of Act, for callers that map them to statuses (the web API: 404,
// 400); the verbs' own errors (sessions.ErrNoSession, ...) come wrapped.
var (
	ErrUnknownVerb = errors.New("unknown action")
	ErrBadArgs     = errors.New("bad arguments")
)

// Act runs the one-session verb (detach, kill, message) on the session ref
// names, on behalf of actor, writing its report to w: the same code the
// socket and SSH run after parsing a command line. A message needs text;
// the other verbs take none. Errors: ErrUnknownVerb, ErrBadArgs, or the
// verb's own (sessions.ErrNoSession for an unknown or ended session).
// text is used as given; callers trim it.
func (r *Runner) Act(ctx context.Context, actor, verb, ref, text string, w io.Writer) error {
	v, ok := Lookup(verb)
	if !ok || v.act == nil {
		return fmt.Errorf("%w %q (%v)", ErrUnknownVerb, verb, SessionVerbs())
	}
	switch {
	case strings.HasPrefix(ref, "-") || strings.HasPrefix(text, "-"):
		// On a command line they would read as flags ("--all"): refused
		// here too, so that a request means the same on every route.
		return fmt.Errorf("a session or message may not start with '-': %w", ErrBadArgs)
	case ref == "":
		return fmt.Errorf("%s needs a session: %w", v.Name, ErrBadArgs)
	case v.Text && text == "":
		return fmt.Errorf("%s needs text: %w", v.Name, ErrBadArgs)
	case !v.Text && text != "":
		return fmt.Errorf("%s takes no text: %w", v.Name, ErrBadArgs)
	}
	return v.act(r, ctx, actor, ref, text, w)
}
