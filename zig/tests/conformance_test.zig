test "x" {}
