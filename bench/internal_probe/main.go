package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

func main() {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := gossh.NewSignerFromKey(priv)
	cfg := &gossh.ClientConfig{User: os.Args[2], Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)}, HostKeyCallback: gossh.InsecureIgnoreHostKey()}
	t0 := time.Now()
	c, err := gossh.Dial("tcp", os.Args[1], cfg)
	if err != nil { panic(err) }
	t1 := time.Now()
	s, _ := c.NewSession()
	s.RequestPty("xterm-256color", 24, 80, gossh.TerminalModes{})
	out, _ := s.StdoutPipe()
	in, _ := s.StdinPipe()
	s.Shell()
	t2 := time.Now()
	buf := make([]byte, 65536)
	n, _ := out.Read(buf)
	t3 := time.Now()
	fmt.Printf("auth %v shell %v frame %v bytes %d\n%q\n", t1.Sub(t0), t2.Sub(t0), t3.Sub(t0), n, buf[:n])
	for _, k := range []string{"a", "b", "c", "\r", "d"} {
		t := time.Now()
		in.Write([]byte(k))
		n, _ = out.Read(buf)
		fmt.Printf("key %q %v %d %q\n", k, time.Since(t), n, buf[:n])
	}
	in.Write([]byte{2, 'd'})
	n, _ = out.Read(buf)
	fmt.Printf("detach %q\n", buf[:n])
}
