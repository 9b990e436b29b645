// Deliberate mistakes for tests/doc_citations.cmake; each must be reported.
// Fine: docs/reference-behavior.md §4.6, and wrapped: docs/reference-behavior.md
// §4.
// A section the page lacks: docs/reference-behavior.md §4.7.
// A chain with one missing: docs/reference-behavior.md §4.6–§4.8.
// A page that does not exist: docs/missing.md §1.
// No page: (reference §4.6).
// Outside the repository: ../shared/reference/vpc-cni-behavior.md.
// Outside the repository: the closing notes.
