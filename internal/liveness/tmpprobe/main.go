package main

import (
	"fmt"
	"os"

	ort "github.com/yalue/onnxruntime_go"
)

func main() {
	ort.SetSharedLibraryPath("/work/main/layers/runtime/lib/libonnxruntime.so.1")
	if err := ort.InitializeEnvironment(); err != nil {
		panic(err)
	}
	for _, p := range os.Args[1:] {
		ins, outs, err := ort.GetInputOutputInfo(p)
		if err != nil {
			panic(err)
		}
		fmt.Println(p)
		for _, i := range ins {
			fmt.Printf("  in  %q %v %v\n", i.Name, i.Dimensions, i.DataType)
		}
		for _, o := range outs {
			fmt.Printf("  out %q %v %v\n", o.Name, o.Dimensions, o.DataType)
		}
	}
}
