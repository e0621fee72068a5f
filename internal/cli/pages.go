package cli

import "fmt"

// listAll calls fetch with successive page tokens, from the first page, until the server returns no
// next token, and returns every item.
func listAll[T any](fetch func(pageToken string) (items []T, next string, err error)) ([]T, error) {
	var all []T
	seen := map[string]bool{}
	token := ""
	for {
		items, next, err := fetch(token)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if next == "" {
			return all, nil
		}
		if seen[next] {
			return nil, fmt.Errorf("the server sent page token %q twice; stopping", next)
		}
		seen[next] = true
		token = next
	}
}
