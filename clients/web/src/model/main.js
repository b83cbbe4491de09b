// City model view (model.html?dataset=<id>): placeholder, filled in by the following commits.
document.getElementById('model-app').textContent = '都市モデル';
