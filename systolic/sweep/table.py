# TEMPORARY slow reference
import csv
import io


def csv_bytes(columns, names):
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=names, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    n = len(next(iter(columns.values())))
    lists = {
        k: (v.astype("U32") if v.dtype.kind == "S" else v).tolist() for k, v in columns.items()
    }
    for i in range(n):
        writer.writerow({k: lists[k][i] for k in lists})
    return text.getvalue().encode()
