"""The sample corpus file names, shared by the tests that check each document."""

NEWSPAPER = "zhejiang-2025-hightech-workplan-newspaper.txt"
BRIEF = "zhejiang-2025-hightech-workplan-brief.txt"
SHAOXING = "shaoxing-2025-sci-tech-workplan.txt"
LISHUI = "lishui-2024-sci-tech-industry-3yr-plan.txt"
REPLY = "zhejiang-sci-tech-dept-reply-2025-315.txt"
ALL = [NEWSPAPER, BRIEF, SHAOXING, LISHUI, REPLY]
