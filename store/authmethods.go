package store

// AuthMethodStore keeps people's authentication methods (passkeys, TOTP, device-bound CLI
// keys), sign-in attempt counters and browser sessions. Same error rules as Store.
type AuthMethodStore interface {
}
