// Command loadgen is the load generator of `npm run bench`'s MongoDB section and open-loop runs.
// Unlike h2load it sends a different body with each request, so every verification can name a
// different key. It is written in Go, not TypeScript, because a Node load generator spent about
// as much CPU per request as the service it measured, on the same two cores.
//
// It reads a JSON job on stdin, sends pre-framed gRPC bodies round robin over HTTP/2 connections
// spread across the given instances, and prints one JSON line: requests per second, p50 and p99
// in ms, failures (transport errors or a grpc-status other than 0) and the CPU seconds it used.
// Closed loop (`streams` in flight per connection) unless `rate` paces it: then requests are due
// every 1/rate s whatever the answers do, and each latency counts from when its request was due.
// With `timelineFile`, it also appends each measured second's count, p50, p99 and slowest answer.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/http2"
)

type job struct {
	URLs          []string `json:"urls"`
	Path          string   `json:"path"`
	RootKey       string   `json:"rootKey"`
	FramesFile    string   `json:"framesFile"`
	Connections   int      `json:"connections"`
	Streams       int      `json:"streams"`
	Seconds       float64  `json:"seconds"`
	WarmupSeconds float64  `json:"warmupSeconds"`
	Rate          float64  `json:"rate"`
	TimelineFile  string   `json:"timelineFile"`
}

// The most requests in flight in an open-loop run: a stalled server cannot exhaust memory.
const maxInFlight = 10000

type sample struct{ sentAt, latency time.Duration }

type recorder struct {
	mu          sync.Mutex
	samples     []sample
	failed      int
	measureFrom time.Time
	stopAt      time.Time
}

func (r *recorder) record(due time.Time, ok bool) {
	done := time.Now()
	if due.Before(r.measureFrom) || done.After(r.stopAt) {
		return
	}
	r.mu.Lock()
	r.samples = append(r.samples, sample{due.Sub(r.measureFrom), done.Sub(due)})
	if !ok {
		r.failed++
	}
	r.mu.Unlock()
}

func readFrames(file string) [][]byte {
	data, err := os.ReadFile(file)
	if err != nil {
		panic(err)
	}
	var frames [][]byte
	for offset := 0; offset < len(data); {
		length := 5 + int(binary.BigEndian.Uint32(data[offset+1:]))
		frames = append(frames, data[offset:offset+length])
		offset += length
	}
	return frames
}

func clientOf() *http.Client {
	return &http.Client{Transport: &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
}

func send(client *http.Client, url string, j *job, body []byte) bool {
	request, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return false
	}
	request.Header.Set("content-type", "application/grpc")
	request.Header.Set("te", "trailers")
	request.Header.Set("authorization", "Bearer "+j.RootKey)
	response, err := client.Do(request)
	if err != nil {
		return false
	}
	_, err = io.Copy(io.Discard, response.Body)
	response.Body.Close()
	if err != nil {
		return false
	}
	status := response.Trailer.Get("grpc-status")
	if status == "" {
		status = response.Header.Get("grpc-status")
	}
	return status == "0"
}

func quantile(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	index := int(q * float64(len(sorted)))
	if index > len(sorted)-1 {
		index = len(sorted) - 1
	}
	return float64(sorted[index]) / float64(time.Millisecond)
}

func cpuSeconds() float64 {
	var usage syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &usage)
	return float64(usage.Utime.Nano()+usage.Stime.Nano()) / 1e9
}

func main() {
	var j job
	if err := json.NewDecoder(os.Stdin).Decode(&j); err != nil {
		panic(err)
	}
	frames := readFrames(j.FramesFile)
	clients := make([]*http.Client, j.Connections)
	urls := make([]string, j.Connections)
	for i := range clients {
		clients[i] = clientOf()
		urls[i] = j.URLs[i%len(j.URLs)] + j.Path
	}
	started := time.Now()
	r := &recorder{
		measureFrom: started.Add(time.Duration(j.WarmupSeconds * float64(time.Second))),
	}
	r.stopAt = r.measureFrom.Add(time.Duration(j.Seconds * float64(time.Second)))
	var next atomic.Uint64
	body := func() []byte { return frames[(next.Add(1)-1)%uint64(len(frames))] }
	var running sync.WaitGroup
	if j.Rate > 0 {
		var inFlight atomic.Int64
		// Due requests go out in batches once a millisecond: a timer per request would wake the
		// scheduler thousands of times a second and cost more CPU than the requests.
		ticker := time.NewTicker(time.Millisecond)
		defer ticker.Stop()
		for sent := 0; ; {
			now := <-ticker.C
			if !now.Before(r.stopAt) {
				break
			}
			due := int(now.Sub(started).Seconds() * j.Rate)
			for ; sent < due && inFlight.Load() < maxInFlight; sent++ {
				inFlight.Add(1)
				running.Add(1)
				go func(connection int, due time.Time, payload []byte) {
					defer running.Done()
					ok := send(clients[connection], urls[connection], &j, payload)
					inFlight.Add(-1)
					r.record(due, ok)
				}(sent%j.Connections, started.Add(time.Duration(float64(sent)/j.Rate*float64(time.Second))), body())
			}
		}
	} else {
		for connection := range clients {
			for range j.Streams {
				running.Add(1)
				go func() {
					defer running.Done()
					for time.Now().Before(r.stopAt) {
						due := time.Now()
						r.record(due, send(clients[connection], urls[connection], &j, body()))
					}
				}()
			}
		}
	}
	running.Wait()

	latencies := make([]time.Duration, len(r.samples))
	for i, s := range r.samples {
		latencies[i] = s.latency
	}
	sort.Slice(latencies, func(a, b int) bool { return latencies[a] < latencies[b] })
	if j.TimelineFile != "" {
		writeTimeline(&j, r.samples)
	}
	result := map[string]any{
		"rps":        float64(len(latencies)) / j.Seconds,
		"p50":        quantile(latencies, 0.5),
		"p99":        quantile(latencies, 0.99),
		"failed":     r.failed,
		"cpuSeconds": cpuSeconds(),
	}
	out, _ := json.Marshal(result)
	fmt.Println(string(out))
}

func writeTimeline(j *job, samples []sample) {
	bySecond := map[int][]time.Duration{}
	last := 0
	for _, s := range samples {
		second := int(s.sentAt / time.Second)
		bySecond[second] = append(bySecond[second], s.latency)
		if second > last {
			last = second
		}
	}
	var lines strings.Builder
	pace := "closed loop"
	if j.Rate > 0 {
		pace = fmt.Sprintf("%g req/s", j.Rate)
	}
	fmt.Fprintf(&lines, "--- %s %s\n", j.Path, pace)
	for second := 0; second <= last; second++ {
		values := bySecond[second]
		if len(values) == 0 {
			continue
		}
		sort.Slice(values, func(a, b int) bool { return values[a] < values[b] })
		fmt.Fprintf(&lines, "%d n=%d p50=%.1f p99=%.1f max=%.1f\n", second, len(values), quantile(values, 0.5), quantile(values, 0.99), float64(values[len(values)-1])/float64(time.Millisecond))
	}
	file, err := os.OpenFile(j.TimelineFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		panic(err)
	}
	defer file.Close()
	file.WriteString(lines.String())
}
