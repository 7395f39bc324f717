package store

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/store/ident"
)

func TestListItemsArgs(t *testing.T) {
	for _, tc := range []struct {
		name, tenant, kind, from, to string
		limit, wantLimit             int
		wantEmpty                    bool
		wantErr                      error
	}{
		{name: "defaults", tenant: "t", kind: "k", wantLimit: DefaultItemsLimit},
		{name: "negative limit", tenant: "t", kind: "k", limit: -1, wantLimit: DefaultItemsLimit},
		{name: "limit kept", tenant: "t", kind: "k", limit: 7, wantLimit: 7},
		{name: "open end", tenant: "t", kind: "k", from: "b", limit: 1, wantLimit: 1},
		{name: "to before from", tenant: "t", kind: "k", from: "b", to: "a", limit: 1, wantLimit: 1, wantEmpty: true},
		{name: "to equals from", tenant: "t", kind: "k", from: "b", to: "b", limit: 1, wantLimit: 1, wantEmpty: true},
		{name: "bad tenant", tenant: "a#b", kind: "k", wantErr: ErrNotFound},
		{name: "empty kind", tenant: "t", kind: "", wantErr: ErrNotFound},
		{name: "bound not UTF-8", tenant: "t", kind: "k", from: "\xff", wantErr: ident.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, empty, err := ListItemsArgs(tc.tenant, tc.kind, tc.from, tc.to, tc.limit)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantLimit, n)
			assert.Equal(t, tc.wantEmpty, empty)
		})
	}
}
