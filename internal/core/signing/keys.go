package signing

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// DefaultKeyFile is where the local server keeps its signing key.
const DefaultKeyFile = ".data/signing-key.pem"

// generatedKeyBits is the size of keys LoadOrCreateLocal generates.
const generatedKeyBits = 2048

// FromPEM returns a signer of the first RSA private key in data, PKCS#8
// ("PRIVATE KEY") or PKCS#1 ("RSA PRIVATE KEY"); other blocks, such as
// certificates, are skipped. A PEM whose line breaks were escaped as the
// two characters `\n`, as happens when a key is pasted into a JSON or
// environment value, is accepted too.
func FromPEM(data []byte) (*Signer, error) {
	if !bytes.Contains(data, []byte("\n")) && bytes.Contains(data, []byte(`\n`)) {
		data = bytes.ReplaceAll(data, []byte(`\n`), []byte("\n"))
	}
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("signing: no PEM private key found")
		}
		var key any
		var err error
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			if _, encrypted := block.Headers["DEK-Info"]; encrypted {
				return nil, errors.New("signing: encrypted PEM keys are not supported")
			}
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("signing: encrypted PEM keys are not supported")
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("signing: parse %s: %w", block.Type, err)
		}
		rk, ok := key.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("signing: %T is not an RSA private key", key)
		}
		return NewSigner(rk)
	}
}

// LoadOrCreateLocal returns the signer of the PEM key at path, generating a
// 2048-bit key there (mode 0600, parent directories 0700) when the file
// does not exist. The file is written under a temporary name and linked
// into place, so a concurrent caller never reads a partial key, and when
// two processes race the first key wins.
func LoadOrCreateLocal(path string) (*Signer, error) {
	s, err := loadFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return s, err
	}
	key, err := rsa.GenerateKey(rand.Reader, generatedKeyBits)
	if err != nil {
		return nil, fmt.Errorf("signing: generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("signing: encode key: %w", err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := writeNew(path, data); errors.Is(err, fs.ErrExist) {
		return loadFile(path)
	} else if err != nil {
		return nil, err
	}
	return NewSigner(key)
}

func loadFile(path string) (*Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing: read key: %w", err)
	}
	s, err := FromPEM(data)
	if err != nil {
		return nil, fmt.Errorf("signing: key file %s: %w", path, err)
	}
	return s, nil
}

// writeNew writes data to path with mode 0600, failing with fs.ErrExist
// when path exists.
func writeNew(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("signing: create key directory: %w", err)
	}
	f, err := os.CreateTemp(dir, ".signing-key-*.tmp") // mode 0600
	if err != nil {
		return fmt.Errorf("signing: write key: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("signing: write key %s: %w", tmp, err)
	}
	err = os.Link(tmp, path)
	if errors.Is(err, fs.ErrExist) {
		return err
	}
	if err != nil {
		// No hard links on this file system: fall back to a rename, which
		// would replace a key another process created between the Stat
		// and the rename (a narrow race, acceptable for a local key).
		if _, serr := os.Stat(path); serr == nil {
			return fs.ErrExist
		}
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("signing: write key %s: %w", path, err)
		}
	}
	return nil
}

// SecretsManagerAPI is the method of *secretsmanager.Client LoadSecretsManager
// uses.
type SecretsManagerAPI interface {
	GetSecretValue(ctx context.Context, params *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// SSMAPI is the method of *ssm.Client LoadSSM uses.
type SSMAPI interface {
	GetParameter(ctx context.Context, params *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// LoadSecretsManager returns the signer of the PEM key stored as the value
// (string or binary) of the secret secretID (a name or ARN).
func LoadSecretsManager(ctx context.Context, client SecretsManagerAPI, secretID string) (*Signer, error) {
	out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)})
	if err != nil {
		return nil, fmt.Errorf("signing: get secret %s: %w", secretID, err)
	}
	var data []byte
	switch {
	case out.SecretString != nil:
		data = []byte(*out.SecretString)
	case out.SecretBinary != nil:
		data = out.SecretBinary
	default:
		return nil, fmt.Errorf("signing: secret %s has no value", secretID)
	}
	s, err := FromPEM(data)
	if err != nil {
		return nil, fmt.Errorf("signing: secret %s: %w", secretID, err)
	}
	return s, nil
}

// LoadSSM returns the signer of the PEM key stored in the SSM parameter
// name, decrypted (a SecureString parameter).
func LoadSSM(ctx context.Context, client SSMAPI, name string) (*Signer, error) {
	out, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("signing: get parameter %s: %w", name, err)
	}
	if out.Parameter == nil || out.Parameter.Value == nil {
		return nil, fmt.Errorf("signing: parameter %s has no value", name)
	}
	s, err := FromPEM([]byte(*out.Parameter.Value))
	if err != nil {
		return nil, fmt.Errorf("signing: parameter %s: %w", name, err)
	}
	return s, nil
}

// Source names where the signing key is: the Secrets Manager secret
// Secret, else the SSM parameter Param (both read with the default AWS
// configuration), else the local PEM file File (default DefaultKeyFile),
// created when missing. internal/config fills it from the environment.
type Source struct{ Secret, Param, File string }

// Load returns the signer of the key src names.
func Load(ctx context.Context, src Source) (*Signer, error) {
	if src.Secret != "" {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("signing: load AWS config: %w", err)
		}
		return LoadSecretsManager(ctx, secretsmanager.NewFromConfig(cfg), src.Secret)
	}
	if src.Param != "" {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("signing: load AWS config: %w", err)
		}
		return LoadSSM(ctx, ssm.NewFromConfig(cfg), src.Param)
	}
	path := src.File
	if path == "" {
		path = DefaultKeyFile
	}
	return LoadOrCreateLocal(path)
}
