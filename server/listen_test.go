package server

import (
	"io"
	"net"
	"net/http"
)

func listenLoopback() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

func readAll(resp *http.Response) string { b, _ := io.ReadAll(resp.Body); return string(b) }
