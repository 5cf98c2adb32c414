package web

import (
	"fmt"
	"net"
	"strings"
	"time"

	"tagpulse/internal/command"
)

// Defaults of Config.
const (
	// DefaultMaxInFlight bounds the trend queries running at once. A
	// 90-day trending query takes seconds of ClickHouse CPU; on a small
	// host a few at a time keep the page and the consumer responsive.
	DefaultMaxInFlight = 4
	// DefaultCacheTTL is the page's refresh interval: every open page
	// asks the same questions that often, and one answer serves them all.
	DefaultCacheTTL = 30 * time.Second
	// RetryAfter is what a 503 for a full server tells the client to wait.
	RetryAfter = 2 * time.Second
)

// Config bounds what the API spends and says which host names it answers
// to.
type Config struct {
	// MaxInFlight is the number of trend queries that may run at once;
	// more get 503 with Retry-After. 0 means DefaultMaxInFlight.
	MaxInFlight int
	// CacheTTL is how long an answer is served again to an identical
	// question (the same route and normalised parameters, asked of the
	// current time or of the same minute); 0 turns the cache off.
	// Identical questions asked while one is running wait for its answer
	// either way.
	CacheTTL time.Duration
	// AllowedHosts are the names, besides the defaults, that the Host
	// header may carry: "example.org", ".example.org" for its subdomains,
	// or "*" for any. The defaults are localhost and its subdomains, IP
	// addresses and the host of the listen address.
	AllowedHosts []string
	// AdminToken is the bearer token the state-changing endpoints (PUT
	// and DELETE /api/v1/topics/{name}) require; empty turns them off.
	AdminToken string
}

// DefaultConfig returns the defaults the flags start from.
func DefaultConfig() Config {
	return Config{MaxInFlight: DefaultMaxInFlight, CacheTTL: DefaultCacheTTL}
}

// RegisterFlags adds the API flags, each with its environment variable.
func (c *Config) RegisterFlags(s *command.FlagSet) {
	d := DefaultConfig()
	s.Int(&c.MaxInFlight, "api-max-in-flight", "AGGREGATE_API_MAX_IN_FLIGHT", d.MaxInFlight, "trend queries of the API that may run at once; more are answered 503 with Retry-After")
	s.Duration(&c.CacheTTL, "api-cache-ttl", "AGGREGATE_API_CACHE_TTL", d.CacheTTL, "how long the API serves an answer again to the same question; 0 turns the cache off")
	s.Strings(&c.AllowedHosts, "api-allowed-hosts", "AGGREGATE_API_ALLOWED_HOSTS", nil,
		"host names the API and page answer to besides localhost, IP addresses and the --http-addr host (.example.org allows subdomains, * any); others get 421, against DNS rebinding")
	s.String(&c.AdminToken, "api-admin-token", "AGGREGATE_API_ADMIN_TOKEN", "",
		"bearer token that PUT and DELETE /api/v1/topics/{name} require (Authorization: Bearer TOKEN); empty turns API edits off")
}

// Validate checks the settings.
func (c *Config) Validate() error {
	if c.MaxInFlight < 1 {
		return fmt.Errorf("web: --api-max-in-flight must be at least 1, got %d", c.MaxInFlight)
	}
	if c.CacheTTL < 0 {
		return fmt.Errorf("web: --api-cache-ttl must not be negative, got %s", c.CacheTTL)
	}
	for _, h := range c.AllowedHosts {
		if h == "" || strings.ContainsAny(h, ":/ ") {
			return fmt.Errorf("web: --api-allowed-hosts: %q is not a host name (no port, no scheme)", h)
		}
	}
	return nil
}

// hostPolicy decides which Host headers the handler answers. A DNS
// rebinding attack makes a victim's browser send requests to this server
// under a name the attacker controls, so a page of the attacker's origin
// can read the answers; the Host header then carries that name. Names the
// operator did not list are refused. IP addresses are always safe (an
// attacker's page cannot have an IP address of this server as its
// origin, whatever its DNS says), and so are localhost names, which
// browsers resolve to loopback themselves.
type hostPolicy struct {
	any      bool
	exact    map[string]bool
	suffixes []string
}

func newHostPolicy(allowed []string, listenAddr string) hostPolicy {
	p := hostPolicy{exact: map[string]bool{}}
	if host, _, err := net.SplitHostPort(listenAddr); err == nil && host != "" {
		p.exact[normaliseHost(host)] = true
	}
	for _, h := range allowed {
		h = normaliseHost(h)
		switch {
		case h == "*":
			p.any = true
		case strings.HasPrefix(h, "."):
			p.suffixes = append(p.suffixes, h)
		default:
			p.exact[h] = true
		}
	}
	return p
}

func normaliseHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(strings.Trim(h, "[]")), ".")
}

// allows reports whether a request's Host header (with or without a port)
// names this server.
func (p hostPolicy) allows(hostHeader string) bool {
	if p.any || hostHeader == "" { // HTTP/1.0 without Host: no browser sends that
		return true
	}
	host := hostHeader
	if h, _, err := net.SplitHostPort(hostHeader); err == nil {
		host = h
	}
	host = normaliseHost(host)
	if net.ParseIP(host) != nil || host == "localhost" || strings.HasSuffix(host, ".localhost") || p.exact[host] {
		return true
	}
	for _, s := range p.suffixes {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}
