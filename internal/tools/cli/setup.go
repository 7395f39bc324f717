package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/facelambda/facelambda/internal/adapters/store/dynamo"
	"github.com/facelambda/facelambda/internal/adapters/store/s3blob"
	"github.com/facelambda/facelambda/internal/app"
	"github.com/facelambda/facelambda/internal/config"
	"github.com/facelambda/facelambda/internal/core/envelope"
	"github.com/facelambda/facelambda/internal/ml/engine"
	"github.com/facelambda/facelambda/internal/transport/httpapi"
)

// setupLocal prepares local AWS servers (DynamoDB Local, an S3 server) for
// the functions: the table, the bucket, and the fixture events/ refer to.
func setupLocal(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	env, err := config.Load()
	if err != nil {
		return err
	}
	fs := newFlags("setup-local", stdout, stderr)
	ddb := fs.String("dynamodb", env.Store.DynamoDBEndpoint, "DynamoDB endpoint (default $FACELAMBDA_DYNAMODB_ENDPOINT)")
	s3ep := fs.String("s3", env.Store.S3Endpoint, "S3 endpoint (default $FACELAMBDA_S3_ENDPOINT)")
	table := fs.String("table", "facelambda-local", "table name")
	bucket := fs.String("bucket", "facelambda-local", "bucket name")
	templateKey := fs.String("template-key", ".tools/localaws/template-master.key", "local key file templates are sealed with (the functions' FACELAMBDA_TEMPLATE_KEY_FILE)")
	if err := fs.ParseRequired(args, "dynamodb", "s3"); err != nil {
		return err
	}
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	dc := dynamodb.NewFromConfig(cfg, dynamo.WithEndpoint(*ddb))
	sc := s3.NewFromConfig(cfg, s3blob.WithEndpoint(*s3ep))
	if err := dynamo.CreateTable(ctx, dc, *table); err != nil {
		return err
	}
	if err := s3blob.CreateBucket(ctx, sc, *bucket); err != nil {
		return err
	}
	bio, err := app.NewService(env.Models, true)
	if err != nil {
		return err
	}
	root, err := engine.RepoRoot()
	if err != nil {
		return err
	}
	img, err := app.FixtureImages(filepath.Join(root, "testdata", "faces"))
	if err != nil {
		return err
	}
	keys, err := envelope.OpenLocalKey(*templateKey)
	if err != nil {
		return err
	}
	recs := dynamo.New(dc, *table)
	d := &httpapi.Deps{Bio: bio, Records: recs, Classes: recs, Blobs: s3blob.New(sc, *bucket)}
	d.Enroll, d.Galleries = app.Enrolment(d, keys, env.Store.Thumbnails)
	if err := app.SeedAll(ctx, d, img, time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "table %s at %s and bucket %s at %s are ready, with the events fixture (tenant %s)\n",
		*table, *ddb, *bucket, *s3ep, app.FixtureTenant)
	return nil
}
