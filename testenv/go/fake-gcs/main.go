// fake-gcs-server (github.com/fsouza/fake-gcs-server, pinned in go.mod) on 127.0.0.1, plus what its resumable
// uploads lack of the documented GCS protocol, so the store's resume logic is tested against that protocol:
//   - a status query (PUT, empty body, "Content-Range: bytes */*") answers 308 with the persisted Range (the
//     fake would finalize the object instead);
//   - a chunk must start at the persisted offset (else 503 and nothing is appended: the client must query);
//   - X-Goog-Hash (crc32c, md5) on the finalizing request is checked against every byte received (the fake
//     checks declared hashes only for one-request uploads); a mismatch is 400 and no object is created;
//   - DELETE cancels the session: later requests to it are 404, as after expiry.
package main

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"flag"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"log"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/fsouza/fake-gcs-server/fakestorage"
)

type session struct {
	received int64
	crc      hash.Hash32
	md5      hash.Hash
	done     bool
}

type sessions struct {
	mu   sync.Mutex
	byID map[string]*session
	gone map[string]bool
}

var contentRange = regexp.MustCompile(`^bytes (\*|(\d+)-(\d+))/(\*|\d+)$`)

func (s *sessions) get(id string) *session {
	if s.byID[id] == nil {
		s.byID[id] = &session{crc: crc32.New(crc32.MakeTable(crc32.Castagnoli)), md5: md5.New()}
	}
	return s.byID[id]
}

func rangeHeader(w http.ResponseWriter, n int64) {
	if n > 0 {
		w.Header().Set("Range", fmt.Sprintf("bytes=0-%d", n-1))
	}
}

// hashMismatch compares X-Goog-Hash ("crc32c=B64,md5=B64") with what the session received.
func hashMismatch(header string, ses *session) string {
	for _, part := range strings.Split(header, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch name {
		case "crc32c":
			sum := make([]byte, 4)
			binary.BigEndian.PutUint32(sum, ses.crc.Sum32())
			if got := base64.StdEncoding.EncodeToString(sum); got != value {
				return fmt.Sprintf("Provided CRC32C %q doesn't match calculated CRC32C %q", value, got)
			}
		case "md5":
			if got := base64.StdEncoding.EncodeToString(ses.md5.Sum(nil)); got != value {
				return fmt.Sprintf("Provided MD5 hash %q doesn't match calculated MD5 hash %q", value, got)
			}
		}
	}
	return ""
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (s *sessions) wrap(inner http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("upload_id")
		if id == "" || !strings.HasPrefix(r.URL.Path, "/upload/") {
			inner.ServeHTTP(w, r)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.gone[id] {
			http.Error(w, "upload session not found", http.StatusNotFound)
			return
		}
		if r.Method == http.MethodDelete {
			s.gone[id] = true
			delete(s.byID, id)
			w.WriteHeader(499)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ses := s.get(id)
		m := contentRange.FindStringSubmatch(r.Header.Get("Content-Range"))
		if m != nil && m[1] == "*" && m[4] == "*" && len(body) == 0 {
			if ses.done {
				w.WriteHeader(http.StatusOK)
				return
			}
			rangeHeader(w, ses.received)
			w.WriteHeader(http.StatusPermanentRedirect)
			return
		}
		if m != nil && m[2] != "" {
			if start, _ := strconv.ParseInt(m[2], 10, 64); start != ses.received {
				rangeHeader(w, ses.received)
				http.Error(w, fmt.Sprintf("chunk starts at %d, but %d bytes are persisted", start, ses.received), http.StatusServiceUnavailable)
				return
			}
		}
		ses.crc.Write(body)
		ses.md5.Write(body)
		final := m != nil && m[4] != "*"
		if goog := r.Header.Get("X-Goog-Hash"); final && goog != "" {
			if why := hashMismatch(goog, ses); why != "" {
				s.gone[id] = true
				delete(s.byID, id)
				http.Error(w, why, http.StatusBadRequest)
				return
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		inner.ServeHTTP(rec, r)
		switch {
		case rec.status == http.StatusPermanentRedirect:
			ses.received += int64(len(body))
		case rec.status < 300:
			ses.received += int64(len(body))
			ses.done = true
		default:
			// Refused (a precondition, a declared checksum): like GCS, the session is over.
			s.gone[id] = true
			delete(s.byID, id)
		}
	})
}

func main() {
	host := flag.String("host", "127.0.0.1", "address to listen on")
	port := flag.Int("port", 0, "port to listen on")
	bucket := flag.String("bucket", "", "bucket to create")
	flag.Parse()
	url := fmt.Sprintf("http://%s:%d", *host, *port)
	server, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		Scheme: "http", Host: *host, Port: uint16(*port), NoListener: true, ExternalURL: url, PublicHost: fmt.Sprintf("%s:%d", *host, *port),
	})
	if err != nil {
		log.Fatal(err)
	}
	if *bucket != "" {
		server.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: *bucket})
	}
	s := &sessions{byID: map[string]*session{}, gone: map[string]bool{}}
	log.Printf("fake-gcs listening on %s", url)
	log.Fatal(http.ListenAndServe(fmt.Sprintf("%s:%d", *host, *port), s.wrap(server.HTTPHandler())))
}
