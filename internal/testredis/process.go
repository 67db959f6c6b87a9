package testredis

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tiktokkit/tiktokkit/internal/testserver"
)

// find returns the path of the first of names found on PATH or in the
// usual directories.
func find(names ...string) (string, error) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
		for _, dir := range []string{"/usr/bin", "/usr/sbin", "/usr/local/bin"} {
			p := filepath.Join(dir, n)
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("%s not found", strings.Join(names, ", "))
}

// process is a running redis-server.
type process struct {
	cmd     *exec.Cmd
	dir     string
	exited  chan struct{}
	waitErr error
}

// startProcess starts redis-server with args (after the common ones) in
// dir, logging to dir/log. The server dies with the test binary even when
// the binary is killed (or times out) before it can stop it: the kernel
// sends it SIGKILL when the thread that started it ends, which for a Go
// program is when the process ends, as no goroutine here locks its thread.
func startProcess(dir string, args ...string) (*process, error) {
	bin, err := find("redis-server")
	if err != nil {
		return nil, err
	}
	common := []string{
		"--dir", dir,
		"--logfile", filepath.Join(dir, "log"),
		"--daemonize", "no",
		"--save", "",
		"--appendonly", "no",
	}
	cmd := exec.Command(bin, append(common, args...)...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, dir: dir, exited: make(chan struct{})}
	go func() { p.waitErr = cmd.Wait(); close(p.exited) }()
	return p, nil
}

// log returns the server's log file, for error messages.
func (p *process) log() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "log"))
	return string(b)
}

// stop ends the server: with SIGKILL when crash is set (as a crash would),
// otherwise with SIGTERM, and waits for it to exit.
func (p *process) stop(crash bool) {
	sig := syscall.SIGTERM
	if crash {
		sig = syscall.SIGKILL
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// startStandalone starts a throwaway server on a Unix socket.
func startStandalone() (string, func(), error) {
	dir, err := os.MkdirTemp("", "tkrd-") // short: a socket path has a length limit
	if err != nil {
		return "", nil, err
	}
	sock := filepath.Join(dir, "s")
	p, err := startProcess(dir, "--port", "0", "--unixsocket", sock, "--unixsocketperm", "700", "--maxclients", "1000")
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	stop := func() { p.stop(false); os.RemoveAll(dir) }
	if err := waitPing(&redis.Options{Network: "unix", Addr: sock}, p); err != nil {
		stop()
		return "", nil, err
	}
	return "unix://" + sock, stop, nil
}

// startTCP starts a server on a free loopback port, trying other ports
// when the chosen one is taken before the server binds it. extra returns
// further arguments for the port.
func startTCP(dir string, extra func(port int) ([]string, error)) (*process, int, error) {
	var lastErr error
	for range 3 {
		port, err := testserver.FreePort()
		if err != nil {
			lastErr = err
			continue
		}
		args, err := extra(port)
		if err != nil {
			lastErr = err
			continue
		}
		p, err := startProcess(dir, append([]string{"--bind", "127.0.0.1", "--port", strconv.Itoa(port)}, args...)...)
		if err != nil {
			return nil, 0, err
		}
		if err := waitPing(&redis.Options{Addr: addr(port)}, p); err != nil {
			p.stop(true)
			lastErr = err
			continue
		}
		return p, port, nil
	}
	return nil, 0, lastErr
}

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }
