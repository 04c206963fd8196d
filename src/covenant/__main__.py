from covenant.cli.main import main

main()
