"""The chat's CSS: answer and source markup, the sidebar, a phone-wide layout, and
Norwegian text for Streamlit's own file uploader."""

STYLE = """<style>
.kilde-answer { font-size: 1.05rem; line-height: 1.6; }
.kilde-marker { font-weight: 600; color: #1d4f91; white-space: nowrap; }
.kilde-where { color: #5c6470; font-size: 0.9em; }
.kilde-source-head { margin-bottom: 0.25rem; overflow-wrap: anywhere; }
.kilde-passage { font-size: 0.93rem; line-height: 1.55; padding: 0.5rem 0.75rem;
  border-left: 3px solid #c9a227; background: rgba(128, 128, 128, 0.07);
  border-radius: 0 4px 4px 0; overflow-wrap: anywhere; }
.kilde-passage mark { background: #ffe58a; color: inherit; padding: 0 0.1em; }
.kilde-doc-meta { color: #5c6470; font-size: 0.8rem; margin: -0.75rem 0 0.5rem 1.75rem; }
.kilde-status { font-size: 0.85rem; border: none; }
.kilde-status td { border: none; padding: 0.1rem 0.75rem 0.1rem 0; vertical-align: top;
  overflow-wrap: anywhere; }
.kilde-status td:first-child { color: #5c6470; white-space: nowrap; }
.kilde-par { display: block; height: 0.45em; }
.kilde-sources-head { font-weight: 600; margin-top: 0.75rem; }
[data-testid="stChatMessage"], [class*="st-key-kilde-source-"] { scroll-margin-top: 4rem; }
/* A phone-wide window: no avatars and less padding, so the passages keep their width. */
@media (max-width: 640px) {
  [data-testid^="stChatMessageAvatar"] { display: none; }
  [data-testid="stChatMessage"] { padding-left: 0; padding-right: 0; gap: 0; }
  [class*="st-key-kilde-source-"] { padding: 0.6rem; }
  .kilde-passage { padding: 0.4rem 0.5rem; }
}
/* Streamlit's own uploader text is English; show it in Norwegian. */
[data-testid="stFileUploaderDropzoneInstructions"] span { font-size: 0; }
[data-testid="stFileUploaderDropzoneInstructions"] span::after {
  content: "Dra filer hit eller trykk «Velg filer»"; font-size: 0.8rem; }
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p {
  font-size: 0; }
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p::after {
  content: "Velg filer"; font-size: 0.875rem; }
</style>"""
