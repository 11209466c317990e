def main() -> None:  # placeholder until the CLI lands
    print("meetbot 0.1.0")
