#!/usr/bin/env python3
"""Generates large hash lists in the exchange formats for benches/lists.sh (stdlib only).

    python3 benches/lists_gen.py DIR ROWS

Writes DIR/plain.sha1 (ROWS lower-case SHA-1 lines), DIR/NSRLFile.txt (ROWS RDS 2.0 rows,
CRLF, quoted names with a comma), DIR/RDS_minimal.db (ROWS rows in the RDSv3 minimal shape)
and DIR/vics.json (ROWS/5 VICS 2.0 Media, pretty-printed like real exports). Digests are those
of the decimal strings "0", "1", ... so every run writes the same files.
"""
import hashlib
import json
import os
import sqlite3
import sys

out, rows = sys.argv[1], int(sys.argv[2])
os.makedirs(out, exist_ok=True)
recs = []
with open(os.path.join(out, "NSRLFile.txt"), "w", newline="") as nsrl, \
        open(os.path.join(out, "plain.sha1"), "w") as plain:
    nsrl.write('"SHA-1","MD5","CRC32","FileName","FileSize","ProductCode","OpSystemCode","SpecialCode"\r\n')
    for i in range(rows):
        b = str(i).encode()
        sha1, md5 = hashlib.sha1(b).hexdigest().upper(), hashlib.md5(b).hexdigest().upper()
        sha256 = hashlib.sha256(b).hexdigest().upper()
        name = "file %d, copy.dll" % i
        recs.append((sha256, sha1, md5, "%08X" % i, name, i, 900000 + i % 1000))
        nsrl.write('"%s","%s","%08X","%s",%d,%d,"362",""\r\n' % (sha1, md5, i, name, i, 900000 + i % 1000))
        plain.write(sha1.lower() + "\n")
db = os.path.join(out, "RDS_minimal.db")
if os.path.exists(db):
    os.remove(db)
con = sqlite3.connect(db)
con.executescript("""
CREATE TABLE FILE (sha256 VARCHAR NOT NULL, sha1 VARCHAR NOT NULL, md5 VARCHAR NOT NULL,
  crc32 VARCHAR NOT NULL, file_name VARCHAR NOT NULL, file_size INTEGER NOT NULL,
  package_id INTEGER NOT NULL, PRIMARY KEY (sha256, sha1, md5, file_name, file_size, package_id));
CREATE VIEW DISTINCT_HASH AS SELECT DISTINCT sha256, sha1, md5, crc32 FROM FILE;
""")
con.executemany("INSERT INTO FILE VALUES (?,?,?,?,?,?,?)", recs)
con.commit()
con.close()
with open(os.path.join(out, "vics.json"), "w") as f:
    f.write('{"@odata.context":"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media","value":[\n')
    for i in range(rows // 5):
        sha1, md5 = recs[i][1], recs[i][2]
        media = {"MediaID": i + 1, "Category": i % 5, "MD5": md5, "SHA1": sha1, "MediaSize": i,
                 "IsPrecategorized": "false", "MimeType": "image/jpeg",
                 "MediaFiles": [{"MD5": md5, "FileName": "img%d.jpg" % i, "FilePath": "C:\\case\\img%d.jpg" % i}],
                 "Tags": "a|b", "Comments": "x" * 50}
        f.write(("" if i == 0 else ",\n") + json.dumps(media, indent=2))
    f.write("\n]}\n")
