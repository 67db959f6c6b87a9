package webhook

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Handler is the webhook handler made by New. It is safe for concurrent
// use.
type Handler struct {
	cfg     Config
	secret  []byte
	replays ReplayStore
}

// New returns a handler for TikTok's webhook callback URL. For each POST it
// checks the body size, the TikTok-Signature header (HMAC-SHA256 of
// "<t>.<raw body>" keyed with the client secret, compared in constant
// time), the timestamp (within Tolerance either way) and replays (a
// signature already handled within the window is answered 200 and not
// handled again, since TikTok redelivers anything that is not 2xx). It then
// decodes the event: authorization.removed deletes the user's token through
// Tokens and calls OnAuthorizationRemoved; every other event goes to
// OnEvent. Answers: 200 handled, 400 malformed, 401 bad signature or stale,
// 405 not POST, 413 too large, 500 when deleting the token or
// OnEvent failed (TikTok retries; the signature is then forgotten so the
// retry is handled) or the ReplayStore failed. Bodies of answers never
// carry details; the log does.
func New(cfg Config) (*Handler, error) {
	if strings.TrimSpace(cfg.ClientSecret) == "" {
		return nil, errors.New("webhook: ClientSecret is required")
	}
	if cfg.Tolerance < 0 || cfg.MaxBodyBytes < 0 || cfg.ReplayCacheSize < 0 {
		return nil, errors.New("webhook: negative Tolerance, MaxBodyBytes or ReplayCacheSize")
	}
	if cfg.Tolerance == 0 {
		cfg.Tolerance = DefaultTolerance
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.ReplayCacheSize == 0 {
		cfg.ReplayCacheSize = DefaultReplayCacheSize
	}
	if cfg.Key == nil {
		cfg.Key = func(openID string) string { return openID }
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	replays := cfg.ReplayStore
	if replays == nil {
		replays = NewMemoryReplayStore(cfg.ReplayCacheSize, cfg.Clock, cfg.Logger)
	}
	return &Handler{cfg: cfg, secret: []byte(cfg.ClientSecret), replays: replays}, nil
}

// ServeHTTP handles one webhook request; see New.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.answer(w, http.StatusMethodNotAllowed)
		h.report(ctx, "", OutcomeMalformed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.refuse(ctx, w, http.StatusRequestEntityTooLarge, "body too large", err)
			return
		}
		h.refuse(ctx, w, http.StatusBadRequest, "reading body", err)
		return
	}
	sig, err := h.verify(r.Header.Get(SignatureHeader), body)
	switch {
	case errors.Is(err, ErrMalformed):
		h.refuse(ctx, w, http.StatusBadRequest, "signature header", err)
		return
	case err != nil:
		h.refuse(ctx, w, http.StatusUnauthorized, "signature", err)
		return
	}
	ev, err := decodeEvent(body)
	if err == nil && h.cfg.ClientKey != "" && ev.ClientKey != h.cfg.ClientKey {
		err = fmt.Errorf("webhook: event for client_key %q", ev.ClientKey)
	}
	if err != nil {
		h.refuse(ctx, w, http.StatusBadRequest, "event", err)
		return
	}
	id := hex.EncodeToString(sig)
	first, err := h.replays.Claim(ctx, id, h.cfg.Clock().Add(2*h.cfg.Tolerance))
	if err != nil {
		h.fail(ctx, w, ev, fmt.Errorf("webhook: replay store: %w", err))
		return
	}
	if !first {
		// TikTok takes any answer but 2xx as a failed delivery and sends it
		// again for up to 72 hours, so a replay is acknowledged, with no
		// side effect.
		h.cfg.Logger.InfoContext(ctx, "webhook: replay acknowledged, not handled again",
			slog.String("event", ev.Event))
		h.answer(w, http.StatusOK)
		h.report(ctx, ev.Event, OutcomeReplay)
		return
	}
	if err := h.dispatch(ctx, ev); err != nil {
		// Let TikTok's retry through.
		if rerr := h.replays.Release(ctx, id); rerr != nil {
			err = errors.Join(err, fmt.Errorf("webhook: replay store: %w", rerr))
		}
		h.fail(ctx, w, ev, err)
		return
	}
	h.answer(w, http.StatusOK)
	h.report(ctx, ev.Event, OutcomeOK)
}

// dispatch acts on a verified event.
func (h *Handler) dispatch(ctx context.Context, ev Event) error {
	if ev.Event != EventAuthorizationRemoved {
		if h.cfg.OnEvent == nil {
			return nil
		}
		return h.cfg.OnEvent(ctx, ev)
	}
	if ev.UserOpenID == "" {
		return nil // nothing to delete; acknowledged so TikTok stops
	}
	if h.cfg.Tokens != nil {
		if err := h.cfg.Tokens.Delete(ctx, h.cfg.Key(ev.UserOpenID)); err != nil {
			return fmt.Errorf("webhook: deleting the token: %w", err)
		}
	}
	if h.cfg.OnAuthorizationRemoved != nil {
		h.cfg.OnAuthorizationRemoved(ctx, ev)
	}
	return nil
}

func (h *Handler) refuse(ctx context.Context, w http.ResponseWriter, status int, what string, err error) {
	h.cfg.Logger.WarnContext(ctx, "webhook: refused", slog.String("check", what),
		slog.Int("status", status), slog.String("error", err.Error()))
	h.answer(w, status)
	h.report(ctx, "", refusalOutcome(err))
}

func (h *Handler) fail(ctx context.Context, w http.ResponseWriter, ev Event, err error) {
	h.cfg.Logger.ErrorContext(ctx, "webhook: handling failed", slog.String("event", ev.Event),
		slog.String("error", err.Error()))
	h.answer(w, http.StatusInternalServerError)
	h.report(ctx, ev.Event, OutcomeError)
}

func (h *Handler) answer(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, http.StatusText(status)+"\n")
}
