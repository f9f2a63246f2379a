# Reads the run's history: one row per saved record, with the objective the
# plugin saves, and the saved queries as one array.
import csv
import numpy

history = list(csv.DictReader(open("runs/quickstart/history.csv")))
queries = numpy.load("runs/quickstart/queries.npy")
objective = numpy.array([float(row["objective"]) for row in history])
print(len(history), "records; queries", queries.shape)
print("objective: first", objective[0], "last", objective[-1])
print("x =", queries[-1])
assert queries.shape == (len(history), 10)
assert objective[-1] < objective[0] / 10
