package witness

import (
	"embed"
	"encoding/binary"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/attestlog/attestlog/internal/webui"
	bolt "go.etcd.io/bbolt"
)

// PageEvidence is the most evidence records the witness's status page
// lists, newest first; GET /evidence lists them all.
const PageEvidence = 50

//go:embed page.html
var pageFS embed.FS

// statusPage is what the witness's page shows.
type statusPage struct {
	Name, VerifierKey string
	Logs              []logView
	Evidence          []Evidence // the newest PageEvidence, newest first
	EvidenceTotal     int64
}

// logView is one log the witness cosigns for.
type logView struct {
	Origin     string
	OriginHash string // lowercase hex SHA-256 of Origin, its monitoring path
	Size       int64  // latest cosigned tree size; -1 if none
	Cosigned   time.Time
	Evidence   int64
}

// status reads the page's data in one read transaction: per log, a fixed
// number of keys; evidence, the last PageEvidence records.
func (w *Witness) status() (statusPage, error) {
	p := statusPage{Name: w.Name(), VerifierKey: w.VerifierKey()}
	for hash, origin := range w.byHash {
		p.Logs = append(p.Logs, logView{Origin: origin, OriginHash: hash, Size: -1})
	}
	slices.SortFunc(p.Logs, func(a, b logView) int { return strings.Compare(a.Origin, b.Origin) })
	err := w.db.View(func(tx *bolt.Tx) error {
		for i := range p.Logs {
			l := &p.Logs[i]
			st, err := getLogState(tx, l.Origin)
			if err != nil {
				return err
			}
			if st.note != nil {
				_, ts, err := lastCosignature(st.note)
				if err != nil {
					return fmt.Errorf("%w: %s: %v", errCorrupt, l.Origin, err)
				}
				l.Size, l.Cosigned = st.size, time.Unix(int64(ts), 0)
			}
			if l.Evidence, err = evidenceCount(tx, l.Origin); err != nil {
				return err
			}
			p.EvidenceTotal += l.Evidence
		}
		c := tx.Bucket(bucketEvidence).Cursor()
		for k, _ := c.Last(); k != nil && len(p.Evidence) < PageEvidence; k, _ = c.Prev() {
			if len(k) != 8 {
				return fmt.Errorf("%w: evidence key %x", errCorrupt, k)
			}
			e, err := getEvidence(tx, binary.BigEndian.Uint64(k))
			if err != nil {
				return err
			}
			e.Request, e.Latest = "", ""
			p.Evidence = append(p.Evidence, e)
		}
		return nil
	})
	return p, err
}

// servePage serves the witness's status page: the logs it witnesses, the
// latest tree size it cosigned for each, and the evidence it keeps.
func (w *Witness) servePage(rw http.ResponseWriter, r *http.Request, _ string) {
	p, err := w.status()
	if err != nil {
		w.writeError(rw, r, err)
		return
	}
	if err := webui.Render(rw, w.page, http.StatusOK, p); err != nil {
		w.log.ErrorContext(r.Context(), "rendering the witness page", slog.Any("err", err))
		http.Error(rw, "internal error", http.StatusInternalServerError)
	}
}

func (w *Witness) parsePage() error {
	t, err := template.New("page.html").Funcs(webui.Funcs(w.now)).ParseFS(pageFS, "page.html")
	if err != nil {
		return fmt.Errorf("witness: parsing page template: %w", err)
	}
	w.page = t
	return nil
}
