package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/facelambda/facelambda/internal/adapters/store/dynamo"
	"github.com/facelambda/facelambda/internal/adapters/store/embedded"
	"github.com/facelambda/facelambda/internal/config"
	"github.com/facelambda/facelambda/internal/core/auth"
)

// keysCreate creates an API key: `keys create --tenant T [--scopes a,b]
// [--name N] [--origin https://app.example ...] [--store local|aws]
// [--data .data]`. --origin (repeatable) names a web origin allowed to use
// the key's client tokens. The new key is printed
// alone on the last line of output.
func keysCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	env, err := config.Load()
	if err != nil {
		return err
	}
	fs := newFlags("keys create", stdout, stderr)
	tenant := fs.String("tenant", "", "tenant (service provider) id: 1-64 of A-Z a-z 0-9 _ -")
	scopes := fs.String("scopes", "*", "comma-separated scopes (* for all): "+fmt.Sprint(auth.AllScopes()))
	name := fs.String("name", "", "a name for the key")
	var origins []string
	fs.Func("origin", "a web origin (https://host[:port]) allowed to use the key's client tokens; repeatable", func(v string) error {
		origins = append(origins, v)
		return nil
	})
	where := fs.String("store", "local", "local (the embedded store under --data) or aws (DynamoDB table $FACELAMBDA_TABLE)")
	data := fs.String("data", env.Store.DataDir, "local data folder (default $FACELAMBDA_DATA_DIR, else .data)")
	if err := fs.ParseRequired(args, "tenant"); err != nil {
		return err
	}
	sc, err := auth.ParseScopes(*scopes)
	if err != nil {
		return err
	}
	var ks auth.KeyStore
	switch *where {
	case "local":
		st, err := embedded.Open(filepath.Join(*data, "store"))
		if err != nil {
			return fmt.Errorf("%w (stop the local server first: the embedded store allows one process)", err)
		}
		defer st.Close()
		ks = st
	case "aws":
		table := env.Store.Table
		if table == "" {
			return fmt.Errorf("keys: set FACELAMBDA_TABLE to the stack's DataTableName output")
		}
		cfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return err
		}
		var opts []func(*dynamodb.Options)
		if ep := env.Store.DynamoDBEndpoint; ep != "" {
			opts = append(opts, dynamo.WithEndpoint(ep))
		}
		ks = dynamo.New(dynamodb.NewFromConfig(cfg, opts...), table)
	default:
		return fmt.Errorf("keys: --store must be local or aws")
	}
	if _, err := auth.ParseOrigins(origins); err != nil {
		return err
	}
	plain, k, err := auth.CreateWithOrigins(ctx, ks, *tenant, *name, sc, origins, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created key %q for tenant %s with scopes %v (stored as SHA-256 %s...)\n", k.Name, k.Tenant, k.Scopes, k.Hash[:12])
	if len(k.Origins) > 0 {
		fmt.Fprintf(stdout, "client tokens of this key may be used from %v\n", k.Origins)
	}
	fmt.Fprintln(stdout, plain)
	return nil
}
