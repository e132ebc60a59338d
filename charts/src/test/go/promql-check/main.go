// Command promql-check runs Prometheus's own checks on rule files, as `promtool check rules` does:
// every group and rule well-formed, every expression valid PromQL, every label name valid, every
// annotation a valid template. The chart's tests call it on the PrometheusRule the chart renders.
//
//	promql-check FILE...    rule files (groups: ...); prints "ok FILE GROUPS RULES" per file
//	promql-check -expr      PromQL expressions, one per line on stdin; prints "ok" per line
//
// Exit code 0 when everything is valid, 1 otherwise (each error on stderr), 2 for a usage error.
package main

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: promql-check FILE... | promql-check -expr < expressions")
		os.Exit(2)
	}
	p := parser.NewParser(parser.Options{})
	if os.Args[1] == "-expr" {
		os.Exit(expressions(p, os.Stdin))
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	failed := false
	for _, file := range os.Args[1:] {
		groups, errs := rulefmt.ParseFile(file, false, model.LegacyValidation, p, logger)
		for _, err := range errs {
			fmt.Fprintf(os.Stderr, "error: %v\n", err)
		}
		if len(errs) > 0 {
			failed = true
			continue
		}
		rules := 0
		for _, g := range groups.Groups {
			rules += len(g.Rules)
		}
		fmt.Printf("ok %s %d %d\n", file, len(groups.Groups), rules)
	}
	if failed {
		os.Exit(1)
	}
}

func expressions(p parser.Parser, in io.Reader) int {
	scanner := bufio.NewScanner(in)
	scanner.Buffer(make([]byte, 64*1024), 1024*1024)
	code, line := 0, 0
	for scanner.Scan() {
		line++
		if _, err := p.ParseExpr(scanner.Text()); err != nil {
			fmt.Fprintf(os.Stderr, "error: line %d: %v\n", line, err)
			code = 1
			continue
		}
		fmt.Println("ok")
	}
	if err := scanner.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		return 1
	}
	return code
}
