package persist

import "encoding/json"

// AppsDecoder decodes the stored JSON texts of Session.Apps for one
// listing. Within a listing many sessions carry the same apps summary
// (the same tabs on the same documents): each distinct text is decoded
// once and every row gets its own copy, so callers may change what they
// are handed. At 100,000 sessions JSON decoding was half of a listing's
// store time (issue 10, `sessions list --json` < 1 s). The zero value
// caches nothing until first use; an AppsDecoder is not safe for
// concurrent use.
type AppsDecoder struct {
	cache map[string][]App // JSON text → its decoding (never handed out)
}

// appsCacheMax bounds an AppsDecoder's cache: a listing whose sessions
// all differ decodes each text once and stops remembering at this many.
const appsCacheMax = 10_000

// Decode returns text's apps: an empty non-nil slice for "[]" or "",
// else a fresh copy (its Documents too) of the decoding. Errors are
// encoding/json's.
func (d *AppsDecoder) Decode(text string) ([]App, error) {
	if text == "[]" || text == "" {
		return []App{}, nil
	}
	cached, ok := d.cache[text]
	if !ok {
		if err := json.Unmarshal([]byte(text), &cached); err != nil {
			return nil, err
		}
		if d.cache == nil {
			d.cache = map[string][]App{}
		}
		if len(d.cache) < appsCacheMax {
			d.cache[text] = cached
		} else {
			return cached, nil // not cached: nobody else holds it
		}
	}
	return cloneApps(cached), nil
}

// cloneApps copies apps in two allocations: the tabs and one backing
// array for every tab's documents, each tab's slice capped at its own
// length so that an append cannot write into its neighbour's.
func cloneApps(apps []App) []App {
	out := make([]App, len(apps))
	n := 0
	for _, a := range apps {
		n += len(a.Documents)
	}
	var docs []string
	if n > 0 {
		docs = make([]string, 0, n)
	}
	for i, a := range apps {
		out[i].App = a.App
		if a.Documents == nil {
			continue
		}
		if len(a.Documents) == 0 {
			out[i].Documents = []string{}
			continue
		}
		start := len(docs)
		docs = append(docs, a.Documents...)
		out[i].Documents = docs[start:len(docs):len(docs)]
	}
	return out
}

// DecodeAttachments decodes a stored Session.Attachments JSON text; "[]"
// and "" are nil without decoding (most stored sessions have no client).
func DecodeAttachments(text string) ([]Attachment, error) {
	if text == "[]" || text == "" {
		return nil, nil
	}
	var out []Attachment
	if err := json.Unmarshal([]byte(text), &out); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}
