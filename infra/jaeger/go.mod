// Builds the Jaeger v2 binary for the lab's local infrastructure (lab/src/infra/install-jaeger.ts).
// Jaeger's module path has no /v2 suffix, so v2.x releases are tagged for Go as v1.x: v1.76.0 is v2.13.0.
// `go install module@version` refuses a module with replace directives, hence this wrapper module.
// go.sum is jaeger v1.76.0's own go.sum plus the two lines for jaeger itself: complete for -mod=readonly, and
// a fresh build needs no checksum-database lookups (the Go proxy's sumdb answered 404 for many of these).
module tenantlab.local/infra/jaeger

go 1.24.6

require github.com/jaegertracing/jaeger v1.76.0

// The same replace jaeger v1.76.0's own go.mod carries; replaces apply only in the main module.
replace github.com/Shopify/sarama => github.com/Shopify/sarama v1.33.0
