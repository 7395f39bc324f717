// Command face is the face Lambda function: it only wires the service (see
// internal/server) and serves its handler through the API Gateway proxy.
package main

import (
	"github.com/facelambda/facelambda/internal/httpapi"
	"github.com/facelambda/facelambda/internal/lambdahttp"
	"github.com/facelambda/facelambda/internal/server"
)

func main() {
	svc := server.Must(server.Service())
	lambdahttp.Start(httpapi.FaceHandler(svc))
}
