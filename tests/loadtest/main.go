package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"time"
)

// envPostgres is read when -postgres is not given, so the harness uses the
// same server as the tests.
const envPostgres = "TIKTOKKIT_TEST_POSTGRES_DSN"

// envRedis is read when -redis is not given, so the harness uses the
// Redis server the tests use.
const envRedis = "TIKTOKKIT_TEST_REDIS_URL"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, err)
		}
		os.Exit(1)
	}
}

// run parses args, runs the harness and prints the table. It fails when a
// request failed or when the memory-store guard falls below -min-ratio of
// the unguarded throughput.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o Options
	fs.IntVar(&o.Users, "users", 200, "users logged in before the load")
	fs.IntVar(&o.Concurrency, "concurrency", 16, "concurrent workers (one connection each)")
	fs.DurationVar(&o.Duration, "duration", time.Second, "time bound of each configuration per round")
	fs.IntVar(&o.Requests, "requests", 200_000, "request bound of each configuration per round")
	fs.IntVar(&o.Rounds, "rounds", 6, "rounds; the configurations take turns in rotating order")
	fs.IntVar(&o.Warmup, "warmup", 2000, "unmeasured requests per configuration before the first round (negative: none)")
	fs.StringVar(&o.PostgresDSN, "postgres", os.Getenv(envPostgres), "PostgreSQL DSN for the PostgreSQL store (default $"+envPostgres+"; empty skips it)")
	fs.StringVar(&o.RedisURL, "redis", os.Getenv(envRedis), "Redis URL for the Redis store (default $"+envRedis+"; empty skips it)")
	fs.IntVar(&o.CacheSize, "cache-size", 0, "token source cache size for the SQL and Redis stores (0 default, negative off)")
	timeout := fs.Duration("timeout", 5*time.Minute, "bound of the whole run")
	minRatio := fs.Float64("min-ratio", 0.9, "fail when the memory-store guard's throughput is below this share of the unguarded one (0 disables)")
	verbose := fs.Bool("v", false, "log progress to stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *verbose {
		o.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	start := time.Now()
	results, err := Run(ctx, o)
	if err != nil {
		return err
	}
	o = o.withDefaults()
	fmt.Fprintf(stdout, "%d users, %d workers, %d rounds of at most %s or %d requests per configuration; GOMAXPROCS %d, %s, %s/%s; %s in all\n\n",
		o.Users, o.Concurrency, o.Rounds, o.Duration, o.Requests, runtime.GOMAXPROCS(0), runtime.Version(),
		runtime.GOOS, runtime.GOARCH, time.Since(start).Round(time.Second))
	WriteTable(stdout, results)
	return check(results, *minRatio)
}

// check applies the targets: no failed request, and the memory-store
// guard at minRatio of the unguarded throughput or better.
func check(results []Result, minRatio float64) error {
	var errs []error
	var base, guarded float64
	for _, r := range results {
		if n := r.ErrorCount(); n > 0 {
			errs = append(errs, fmt.Errorf("loadtest: %s: %d failed requests", r.Name, n))
		}
		switch r.Name {
		case ConfigUnguarded:
			base = r.Throughput()
		case ConfigMemory:
			guarded = r.Throughput()
		}
	}
	if minRatio > 0 && base > 0 && guarded/base < minRatio {
		errs = append(errs, fmt.Errorf("loadtest: guarded (memory store) throughput is %.2fx the unguarded one, below the %.2fx target", guarded/base, minRatio))
	}
	return errors.Join(errs...)
}
