"""HL7 v2 intake: ADT (A01/A04/A08/A40) and ORU^R01, over MLLP or HTTP, answered with ACK/NAK."""
