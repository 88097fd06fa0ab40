//go:build !unix

package cli

// lockState is a no-op where flock is missing; concurrent refreshes may then race, which at
// worst signs the user out.
func lockState(dir string) (unlock func(), err error) {
	if err := ensureDir(dir); err != nil {
		return nil, err
	}
	return func() {}, nil
}
