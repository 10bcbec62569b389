"""A multiprocessing pool: every worker is a traced process of its own."""
import multiprocessing


def square(x):
    n = 0
    for _ in range(20000):
        n += 1
    return x * x


if __name__ == "__main__":
    pool = multiprocessing.Pool(3)
    print("sum=%d" % sum(pool.map(square, range(30))))
    pool.close()
    pool.join()
