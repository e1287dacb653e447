package persisttest

import (
	"testing"
)

func testLeases(t *testing.T, pair pairOpener)   {}
func testNodes(t *testing.T, pair pairOpener)    {}
func testRequests(t *testing.T, pair pairOpener) {}
func testNotifier(t *testing.T, pair pairOpener) {}
func testSecrets(t *testing.T, pair pairOpener)  {}
func testCaps(t *testing.T, pair pairOpener)     {}
