from steps import count_steps

if __name__ == "__main__":
    print(f"steps_7={count_steps(7)}")
