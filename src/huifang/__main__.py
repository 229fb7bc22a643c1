from huifang.cli import main

main()
