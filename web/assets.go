package web

import (
	"embed"
	"io/fs"
	"net/http"
)

// assets are the files the pages load: our script and style, and xterm.js
// with its fit addon and licences from the npm packages (versions and how
// to refresh them: assets/README.md). Embedded, so the terminal works with
// no internet and no CDN.
//
//go:embed assets
var assetFS embed.FS

// assetHandler serves /assets/… from the embedded files.
func assetHandler() http.Handler {
	sub, err := fs.Sub(assetFS, "assets")
	if err != nil {
		panic(err)
	}
	files := http.StripPrefix("/assets/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Embedded files have no modification time; a restart may bring
		// new ones, so browsers revalidate rather than cache for long.
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}
