// Package webui renders the pages a person sees — sign in, device-code entry, errors — from
// templates embedded in the binary. It only renders: it decides nothing about identity and
// reads no store; handlers in httpapi pass it what to show. Pages carry no third-party assets
// and no inline script, so the Content-Security-Policy can forbid both.
package webui
