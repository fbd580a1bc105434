from meterstream.cli import main

main()
