from covenant.cli import main

main()
