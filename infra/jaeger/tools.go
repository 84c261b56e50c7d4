//go:build tools

// Package tools pins the Jaeger command in this module so that `go mod tidy` keeps its requirement.
package tools

import _ "github.com/jaegertracing/jaeger/cmd/jaeger"
