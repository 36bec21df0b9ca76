// Package web serves a log's status pages: server-rendered HTML for people
// who would rather look than run a client. It adds, beside the log's
// tlog-tiles API ([log.Log.Handler]), on the same port:
//
//	GET /                   origin, verifier key, tree size, the latest signed and witnessed
//	                        checkpoints with each witness's cosignature time, append rate, health
//	GET /claims             recent claims, newest first, paged (?before=<index>)
//	GET /claims/<index>     one claim: fields, signers, inclusion proof, archived binaries
//	GET /search?q=...       by artifact sha256, builder key, claim index, or "<source> <commit> [platform]"
//	GET /mismatches         mismatches in the order they arose, paged (?after=<claim>.<subject>)
//	GET /mismatches/<id>    one mismatch: every claim per digest side by side, binaries, evidence command
//	GET /artifacts/<sha256> an archived binary, as an attachment
//	GET /static/style.css   the style sheet
//
// Every other path goes to the log's own handler, so /checkpoint, /tile/...
// and /healthz behave exactly as without the pages.
//
// A claim is attacker-controlled text: any builder key can sign one. Pages
// are html/template output, escaped for their context; control, line
// separator and bidi characters are shown as code points; every page is
// served with a Content-Security-Policy that allows no script at all,
// nosniff and no framing; binaries are served as application/octet-stream
// attachments, never rendered. The pages need no JavaScript.
//
// Pages are cheap: each reads a bounded number of entries (a page of recent
// claims is the last entries by index) and uses the claim indexes for
// lookups, never a scan of the log.
//
// A [Site] is safe for concurrent use.
package web
