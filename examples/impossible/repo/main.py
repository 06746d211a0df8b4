from fib import fib

if __name__ == "__main__":
    print(f"fib_10={fib(10)}")
